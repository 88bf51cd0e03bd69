/* media_colors.c -- file_meta.colors for thumbnails (background, foreground,
 * accent), following the steps of Mastodon's Paperclip::ColorExtractor: the
 * picture reduced by libvips' thumbnail_image(100), 10x10x10 colour histograms
 * of its border (the four strips joined as libvips joins them, black padding
 * included) and of the whole picture, the ten highest bins of each by libvips'
 * max (empty bins too when fewer are used), CIEDE2000 distance and W3C
 * contrast to pick the foreground and accent, HSL lightening/darkening when
 * too few colours qualify. */
#include "media.h"
#include "media_vips.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <vips/vips.h>

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

/* The ten most frequent bins of a 3-band uchar picture, most frequent first,
 * as bin-centre colours: hist_find_ndim, bandunfold (x = r * 10 + b, y = g),
 * max with size 10 (libvips sorts its list smallest first). */
static int color_palette_of(VipsImage *img, color_palette *out)
{
    VipsImage *hist = NULL, *flat = NULL;
    VipsArrayInt *xs = NULL, *ys = NULL;
    double top = 0;
    out->n = 0;
    int rc = vips_hist_find_ndim(img, &hist, "bins", COLOR_BINS, NULL);
    if (rc == 0)
        rc = vips_bandunfold(hist, &flat, NULL);
    if (rc == 0)
        rc = vips_max(flat, &top, "size", COLOR_PALETTE, "x_array", &xs, "y_array", &ys, NULL);
    if (rc == 0) {
        int nx = 0, ny = 0;
        const int *x = vips_array_int_get(xs, &nx), *y = vips_array_int_get(ys, &ny);
        for (int i = (nx < ny ? nx : ny) - 1; i >= 0 && out->n < COLOR_PALETTE; i--)
            out->c[out->n++] = (color_rgb){(x[i] / COLOR_BINS + 0.5) * 256 / COLOR_BINS,
                                           (y[i] + 0.5) * 256 / COLOR_BINS,
                                           (x[i] % COLOR_BINS + 0.5) * 256 / COLOR_BINS};
    }
    if (xs)
        vips_area_unref(VIPS_AREA(xs));
    if (ys)
        vips_area_unref(VIPS_AREA(ys));
    if (flat)
        g_object_unref(flat);
    if (hist)
        g_object_unref(hist);
    return rc == 0 ? 0 : -1;
}

/* The border: top and bottom strips of a quarter of the height stacked, then
 * the left and right strips (a quarter of the width) joined on the right;
 * vips_join pads the shorter side with black, which then counts too. */
static int color_edges(VipsImage *img, VipsImage **out)
{
    int w = vips_image_get_width(img), h = vips_image_get_height(img), block = h / 4, line = w / 4;
    VipsImage *top = NULL, *bottom = NULL, *left = NULL, *right = NULL, *tb = NULL, *tbl = NULL;
    *out = NULL;
    int rc = vips_crop(img, &top, 0, 0, w, block, NULL);
    if (rc == 0)
        rc = vips_crop(img, &bottom, 0, h - block, w, block, NULL);
    if (rc == 0)
        rc = vips_crop(img, &left, 0, block, line, h - 2 * block, NULL);
    if (rc == 0)
        rc = vips_crop(img, &right, w - line, block, line, h - 2 * block, NULL);
    if (rc == 0)
        rc = vips_join(top, bottom, &tb, VIPS_DIRECTION_VERTICAL, NULL);
    if (rc == 0)
        rc = vips_join(tb, left, &tbl, VIPS_DIRECTION_HORIZONTAL, NULL);
    if (rc == 0)
        rc = vips_join(tbl, right, out, VIPS_DIRECTION_HORIZONTAL, NULL);
    VipsImage *parts[] = {top, bottom, left, right, tb, tbl};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i])
            g_object_unref(parts[i]);
    return rc == 0 ? 0 : -1;
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
    char err[MEDIA_ERRLEN];
    memset(out, 0, sizeof *out);
    if (img->width < 1 || img->height < 1 || img->stride != img->width * 3 ||
        media_vips_init(1, err, sizeof err) < 0)
        return -1;
    VipsImage *pic = vips_image_new_from_memory(img->data, (size_t)img->stride * img->height, img->width,
                                                img->height, 3, VIPS_FORMAT_UCHAR);
    VipsImage *edges = NULL;
    color_palette bgp = {.n = 0}, fgp = {.n = 0};
    int rc = pic ? color_edges(pic, &edges) : -1;
    if (rc == 0)
        rc = color_palette_of(edges, &bgp);
    if (rc == 0)
        rc = color_palette_of(pic, &fgp);
    if (edges)
        g_object_unref(edges);
    if (pic)
        g_object_unref(pic);
    vips_error_clear();
    if (rc < 0 || (bgp.n == 0 && fgp.n == 0))
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

int media_colors_file(const char *path, media_colors *out, char *err, size_t errlen)
{
    media_rgb img;
    if (media_vips_colors_input(path, &img, err, errlen) < 0)
        return -1;
    int rc = media_colors_extract(&img, out);
    if (rc < 0)
        snprintf(err, errlen, "no colours could be taken from %s (%dx%d after the 100 px thumbnail)", path,
                 img.width, img.height);
    media_rgb_free(&img);
    return rc;
}
