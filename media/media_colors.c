/* media_colors.c -- file_meta.colors for thumbnails (background, foreground,
 * accent), following the steps of Mastodon's Paperclip::ColorExtractor: 10x10x10
 * colour histograms of the picture's border (background) and of the whole
 * picture (foreground), CIEDE2000 distance and W3C contrast to pick the
 * foreground and accent, HSL lightening/darkening when too few colours qualify. */
#include "media.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { COLOR_BINS = 10, COLOR_PALETTE = 10 };
#define COLOR_MIN_CONTRAST 3.0
#define COLOR_ACCENT_MIN_CONTRAST 2.0

typedef struct color_rgb {
    double r, g, b;
} color_rgb;

typedef struct color_palette {
    color_rgb c[COLOR_PALETTE];
    int n;
} color_palette;

/* sRGB (0..255) to CIE XYZ scaled 0..100 (D65). */
static void color_xyz(color_rgb c, double xyz[3])
{
    double v[3] = {c.r / 255, c.g / 255, c.b / 255};
    for (int i = 0; i < 3; i++)
        v[i] = (v[i] > 0.04045 ? pow((v[i] + 0.055) / 1.055, 2.4) : v[i] / 12.92) * 100;
    xyz[0] = v[0] * 0.4124 + v[1] * 0.3576 + v[2] * 0.1805;
    xyz[1] = v[0] * 0.2126 + v[1] * 0.7152 + v[2] * 0.0722;
    xyz[2] = v[0] * 0.0193 + v[1] * 0.1192 + v[2] * 0.9505;
}

static void color_lab(color_rgb c, double lab[3])
{
    static const double white[3] = {95.047, 100.0, 108.883};
    double xyz[3], f[3];
    color_xyz(c, xyz);
    for (int i = 0; i < 3; i++) {
        double t = xyz[i] / white[i];
        f[i] = t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116;
    }
    lab[0] = 116 * f[1] - 16;
    lab[1] = 500 * (f[0] - f[1]);
    lab[2] = 200 * (f[1] - f[2]);
}

static double deg(double rad) { return rad * 180 / M_PI; }
static double rad(double d) { return d * M_PI / 180; }

/* CIEDE2000 colour difference (kL = kC = kH = 1). */
static double color_distance(color_rgb c1, color_rgb c2)
{
    double l1[3], l2[3];
    color_lab(c1, l1);
    color_lab(c2, l2);
    double cb = (hypot(l1[1], l1[2]) + hypot(l2[1], l2[2])) / 2;
    double g = 0.5 * (1 - sqrt(pow(cb, 7) / (pow(cb, 7) + pow(25, 7))));
    double a1 = (1 + g) * l1[1], a2 = (1 + g) * l2[1];
    double cp1 = hypot(a1, l1[2]), cp2 = hypot(a2, l2[2]);
    double h1 = (a1 == 0 && l1[2] == 0) ? 0 : fmod(deg(atan2(l1[2], a1)) + 360, 360);
    double h2 = (a2 == 0 && l2[2] == 0) ? 0 : fmod(deg(atan2(l2[2], a2)) + 360, 360);
    double dl = l2[0] - l1[0], dc = cp2 - cp1, dh = 0;
    if (cp1 * cp2 != 0) {
        dh = h2 - h1;
        if (dh > 180)
            dh -= 360;
        else if (dh < -180)
            dh += 360;
    }
    double dhh = 2 * sqrt(cp1 * cp2) * sin(rad(dh / 2));
    double lm = (l1[0] + l2[0]) / 2, cm = (cp1 + cp2) / 2, hm = h1 + h2;
    if (cp1 * cp2 != 0) {
        if (fabs(h1 - h2) <= 180)
            hm = (h1 + h2) / 2;
        else
            hm = h1 + h2 < 360 ? (h1 + h2 + 360) / 2 : (h1 + h2 - 360) / 2;
    }
    double t = 1 - 0.17 * cos(rad(hm - 30)) + 0.24 * cos(rad(2 * hm)) + 0.32 * cos(rad(3 * hm + 6)) -
               0.20 * cos(rad(4 * hm - 63));
    double dtheta = 30 * exp(-pow((hm - 275) / 25, 2));
    double rc = 2 * sqrt(pow(cm, 7) / (pow(cm, 7) + pow(25, 7)));
    double sl = 1 + 0.015 * pow(lm - 50, 2) / sqrt(20 + pow(lm - 50, 2));
    double sc = 1 + 0.045 * cm, sh = 1 + 0.015 * cm * t;
    double rt = -sin(rad(2 * dtheta)) * rc;
    return sqrt(pow(dl / sl, 2) + pow(dc / sc, 2) + pow(dhh / sh, 2) + rt * (dc / sc) * (dhh / sh));
}

static double color_contrast(color_rgb a, color_rgb b)
{
    double xa[3], xb[3];
    color_xyz(a, xa);
    color_xyz(b, xb);
    double la = xa[1] * 0.01 + 0.05, lb = xb[1] * 0.01 + 0.05;
    return la > lb ? la / lb : lb / la;
}

/* HSL as rounded integers: hue 0..360, saturation and lightness 0..100. */
static void color_hsl(color_rgb c, int hsl[3])
{
    double r = c.r / 255, g = c.g / 255, b = c.b / 255;
    double max = fmax(r, fmax(g, b)), min = fmin(r, fmin(g, b));
    double h = 0, s = 0, l = (max + min) / 2;
    if (max != min) {
        double d = max - min;
        s = l >= 0.5 ? d / (2 - max - min) : d / (max + min);
        if (max == r)
            h = (g - b) / d + (g < b ? 6 : 0);
        else if (max == g)
            h = (b - r) / d + 2;
        else
            h = (r - g) / d + 4;
        h /= 6;
    }
    hsl[0] = (int)lround(h * 360);
    hsl[1] = (int)lround(s * 100);
    hsl[2] = (int)lround(l * 100);
}

static double hue_part(double p, double q, double t)
{
    if (t < 0)
        t += 1;
    if (t > 1)
        t -= 1;
    if (t < 1 / 6.0)
        return p + (q - p) * 6 * t;
    if (t < 1 / 2.0)
        return q;
    if (t < 2 / 3.0)
        return p + (q - p) * (2 / 3.0 - t) * 6;
    return p;
}

static color_rgb color_lighten_or_darken(color_rgb c, int by)
{
    int hsl[3];
    color_hsl(c, hsl);
    int light = hsl[2] < 50 ? (hsl[2] + by > 100 ? 100 : hsl[2] + by) : (hsl[2] - by < 0 ? 0 : hsl[2] - by);
    double h = hsl[0] / 360.0, s = hsl[1] / 100.0, l = light / 100.0, r = l, g = l, b = l;
    if (s != 0) {
        double q = l < 0.5 ? l * (s + 1) : l + s - l * s, p = 2 * l - q;
        r = hue_part(p, q, h + 1 / 3.0);
        g = hue_part(p, q, h);
        b = hue_part(p, q, h - 1 / 3.0);
    }
    return (color_rgb){(double)lround(r * 255), (double)lround(g * 255), (double)lround(b * 255)};
}

/* Counts one pixel in a 10x10x10 histogram. */
static void hist_add(unsigned *hist, const uint8_t *px)
{
    int r = px[0] * COLOR_BINS / 256, g = px[1] * COLOR_BINS / 256, b = px[2] * COLOR_BINS / 256;
    hist[(r * COLOR_BINS + g) * COLOR_BINS + b]++;
}

/* The most frequent bins, most frequent first, as bin-centre colours. */
static void hist_palette(const unsigned *hist, color_palette *out)
{
    bool used[COLOR_BINS * COLOR_BINS * COLOR_BINS] = {false};
    out->n = 0;
    while (out->n < COLOR_PALETTE) {
        int best = -1;
        for (int i = 0; i < COLOR_BINS * COLOR_BINS * COLOR_BINS; i++)
            if (hist[i] > 0 && !used[i] && (best < 0 || hist[i] > hist[best]))
                best = i;
        if (best < 0)
            break;
        used[best] = true;
        int r = best / (COLOR_BINS * COLOR_BINS), g = (best / COLOR_BINS) % COLOR_BINS, b = best % COLOR_BINS;
        out->c[out->n++] = (color_rgb){(r + 0.5) * 256 / COLOR_BINS, (g + 0.5) * 256 / COLOR_BINS,
                                       (b + 0.5) * 256 / COLOR_BINS};
    }
}

static bool color_same(color_rgb a, color_rgb b)
{
    return a.r == b.r && a.g == b.g && a.b == b.b;
}

/* The palette colour farthest from bg with at least min_contrast, not in `skip`. */
static int pick_far(const color_palette *p, color_rgb bg, double min_contrast, const color_rgb *skip, int nskip)
{
    double best_distance = 0;
    int best = -1;
    for (int i = 0; i < p->n; i++) {
        bool skipped = false;
        for (int k = 0; k < nskip; k++)
            skipped = skipped || color_same(skip[k], p->c[i]);
        double distance = color_distance(bg, p->c[i]);
        if (!skipped && distance > best_distance && color_contrast(bg, p->c[i]) >= min_contrast) {
            best_distance = distance;
            best = i;
        }
    }
    return best;
}

static void color_hex(color_rgb c, char out[8])
{
    snprintf(out, 8, "#%02x%02x%02x", (int)c.r & 0xff, (int)c.g & 0xff, (int)c.b & 0xff);
}

int media_colors_extract(const media_rgb *img, media_colors *out)
{
    unsigned edge_hist[COLOR_BINS * COLOR_BINS * COLOR_BINS] = {0};
    unsigned all_hist[COLOR_BINS * COLOR_BINS * COLOR_BINS] = {0};
    memset(out, 0, sizeof *out);
    int block = img->height / 4, line = img->width / 4;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            const uint8_t *px = img->data + (size_t)y * img->stride + 3 * x;
            hist_add(all_hist, px);
            bool edge = y < block || y >= img->height - block || x < line || x >= img->width - line;
            if (edge)
                hist_add(edge_hist, px);
        }
    color_palette bgp, fgp;
    hist_palette(edge_hist, &bgp);
    hist_palette(all_hist, &fgp);
    if (bgp.n == 0 && fgp.n == 0)
        return -1;
    color_rgb bg = bgp.n > 0 ? bgp.c[0] : fgp.c[0];
    color_rgb fg[2] = {{0, 0, 0}, {0, 0, 0}};
    int nfg = 0;
    int i = pick_far(&fgp, bg, COLOR_ACCENT_MIN_CONTRAST, fg, nfg);
    if (i >= 0)
        fg[nfg++] = fgp.c[i];
    i = pick_far(&fgp, bg, COLOR_MIN_CONTRAST, fg, nfg);
    if (i >= 0)
        fg[nfg++] = fgp.c[i];
    for (int k = 0; nfg < 2; k++)
        fg[nfg++] = color_lighten_or_darken(bg, 35 + k * 15);
    /* Highest contrast is the foreground; highest saturation the accent (first wins ties). */
    color_rgb foreground = color_contrast(bg, fg[1]) > color_contrast(bg, fg[0]) ? fg[1] : fg[0];
    int s0[3], s1[3];
    color_hsl(fg[0], s0);
    color_hsl(fg[1], s1);
    color_rgb accent = s1[1] > s0[1] ? fg[1] : fg[0];
    color_hex(bg, out->background);
    color_hex(foreground, out->foreground);
    color_hex(accent, out->accent);
    return 0;
}
