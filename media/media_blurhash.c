/* media_blurhash.c -- the BlurHash encoder (algorithm as published at blurha.sh):
 * a few DCT-like cosine components of the picture in linear light, quantised
 * and written in base 83. Mastodon computes 4x4 components from the small style. */
#include "media.h"

#include <math.h>
#include <stdlib.h>

static const char blurhash_digits[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

static void base83(int value, int length, char *out)
{
    for (int i = 1; i <= length; i++) {
        int div = 1;
        for (int k = 0; k < length - i; k++)
            div *= 83;
        out[i - 1] = blurhash_digits[(value / div) % 83];
    }
}

static double srgb_to_linear(int c)
{
    double v = c / 255.0;
    return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

static int linear_to_srgb(double v)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return v <= 0.0031308 ? (int)(v * 12.92 * 255 + 0.5) : (int)((1.055 * pow(v, 1 / 2.4) - 0.055) * 255 + 0.5);
}

static double sign_pow(double v, double e)
{
    return copysign(pow(fabs(v), e), v);
}

int media_blurhash(const media_rgb *img, int x_comp, int y_comp, char *out, size_t outlen)
{
    if (x_comp < 1 || x_comp > 9 || y_comp < 1 || y_comp > 9 || img->width < 1 || img->height < 1 ||
        outlen < (size_t)(4 + 2 * x_comp * y_comp + 1))
        return -1;
    int w = img->width, h = img->height, n = x_comp * y_comp;
    double *cx = malloc(sizeof(double) * (size_t)(w * x_comp));
    double *cy = malloc(sizeof(double) * (size_t)(h * y_comp));
    double *lin = malloc(sizeof(double) * 256);
    double (*f)[3] = calloc((size_t)n, sizeof *f);
    if (!cx || !cy || !lin || !f) {
        free(cx);
        free(cy);
        free(lin);
        free(f);
        return -1;
    }
    for (int i = 0; i < x_comp; i++)
        for (int x = 0; x < w; x++)
            cx[i * w + x] = cos(M_PI * i * x / w);
    for (int j = 0; j < y_comp; j++)
        for (int y = 0; y < h; y++)
            cy[j * h + y] = cos(M_PI * j * y / h);
    for (int c = 0; c < 256; c++)
        lin[c] = srgb_to_linear(c);
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img->data + (size_t)y * img->stride;
        for (int x = 0; x < w; x++) {
            double r = lin[row[3 * x]], g = lin[row[3 * x + 1]], b = lin[row[3 * x + 2]];
            for (int j = 0; j < y_comp; j++)
                for (int i = 0; i < x_comp; i++) {
                    double basis = cx[i * w + x] * cy[j * h + y];
                    double *k = f[j * x_comp + i];
                    k[0] += basis * r;
                    k[1] += basis * g;
                    k[2] += basis * b;
                }
        }
    }
    for (int k = 0; k < n; k++) {
        double scale = (k == 0 ? 1.0 : 2.0) / ((double)w * h);
        for (int c = 0; c < 3; c++)
            f[k][c] *= scale;
    }
    char *p = out;
    base83((x_comp - 1) + (y_comp - 1) * 9, 1, p);
    p += 1;
    double max_value = 1;
    if (n > 1) {
        double actual = 0;
        for (int k = 1; k < n; k++)
            for (int c = 0; c < 3; c++)
                actual = fmax(actual, fabs(f[k][c]));
        int q = (int)fmax(0, fmin(82, floor(actual * 166 - 0.5)));
        max_value = (q + 1) / 166.0;
        base83(q, 1, p);
    } else {
        base83(0, 1, p);
    }
    p += 1;
    int dc = (linear_to_srgb(f[0][0]) << 16) + (linear_to_srgb(f[0][1]) << 8) + linear_to_srgb(f[0][2]);
    base83(dc, 4, p);
    p += 4;
    for (int k = 1; k < n; k++) {
        int q[3];
        for (int c = 0; c < 3; c++)
            q[c] = (int)fmax(0, fmin(18, floor(sign_pow(f[k][c] / max_value, 0.5) * 9 + 9.5)));
        base83(q[0] * 19 * 19 + q[1] * 19 + q[2], 2, p);
        p += 2;
    }
    *p = '\0';
    free(cx);
    free(cy);
    free(lin);
    free(f);
    return 0;
}
