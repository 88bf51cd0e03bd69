/* media_unit_test.c -- cmocka tests of the media library's pure rules: Mastodon's
 * bitrate formula, validation limits and reasons, classification, passthrough
 * eligibility, the pixel-budget resize, the BlurHash encoder and thumbnail
 * colours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "media.h"

#include <stdlib.h>
#include <string.h>

static media_probe video_probe(int w, int h, int fps)
{
    media_probe p;
    memset(&p, 0, sizeof p);
    strcpy(p.container, "mov,mp4,m4a,3gp,3g2,mj2");
    strcpy(p.content_type, "video/mp4");
    strcpy(p.video_codec, "h264");
    strcpy(p.audio_codec, "aac");
    strcpy(p.pix_fmt, "yuv420p");
    p.has_video = p.has_audio = true;
    p.width = w;
    p.height = h;
    p.fps_num = p.rfps_num = fps;
    p.fps_den = p.rfps_den = 1;
    p.duration = 10;
    p.frames = 1;
    return p;
}

static void test_bitrate_formula(void **state)
{
    (void)state;
    /* 1080p: the pixel term binds (1920*1080*30*0.11). */
    assert_int_equal(media_video_bitrate(1920, 1080, 10), 6842880);
    /* Ten minutes: the 99 MB size cap binds: floor(99 MiB * 8 / 600) - 192000. */
    assert_int_equal(media_video_bitrate(1920, 1080, 600), 1384120 - 192000);
    /* Durations under a second count as one second. */
    assert_int_equal(media_video_bitrate(16, 16, 0.2), media_video_bitrate(16, 16, 1));
}

static void test_validate_video(void **state)
{
    (void)state;
    char err[MEDIA_ERRLEN];
    media_probe p = video_probe(3840, 2160, 120);
    assert_int_equal(media_validate(&p, MEDIA_KIND_VIDEO, err, sizeof err), 0);
    p = video_probe(3840, 2162, 30);
    assert_int_equal(media_validate(&p, MEDIA_KIND_VIDEO, err, sizeof err), -1);
    assert_non_null(strstr(err, "video is 3840x2162 (8302080 pixels), over Mastodon's limit of 8294400"));
    p = video_probe(640, 360, 121);
    assert_int_equal(media_validate(&p, MEDIA_KIND_VIDEO, err, sizeof err), -1);
    assert_non_null(strstr(err, "121 fps) is over Mastodon's limit of 120 fps"));
    p = video_probe(640, 360, 0);
    assert_int_equal(media_validate(&p, MEDIA_KIND_GIFV, err, sizeof err), -1);
    assert_string_equal(err, "the video stream has no frame rate");
    p.has_video = false;
    assert_int_equal(media_validate(&p, MEDIA_KIND_VIDEO, err, sizeof err), -1);
    assert_string_equal(err, "no video stream");
    p = video_probe(640, 360, 30);
    p.size = 99LL * 1024 * 1024 + 1;
    assert_int_equal(media_validate(&p, MEDIA_KIND_VIDEO, err, sizeof err), -1);
    assert_string_equal(err, "file is 103809025 bytes, over Mastodon's limit of 99 MB for video and audio");
    p.size = 99LL * 1024 * 1024;
    assert_int_equal(media_validate(&p, MEDIA_KIND_VIDEO, err, sizeof err), 0);
}

static void test_validate_images(void **state)
{
    (void)state;
    char err[MEDIA_ERRLEN];
    media_probe p = video_probe(7680, 4320, 25);
    strcpy(p.content_type, "image/png");
    assert_int_equal(media_validate(&p, MEDIA_KIND_IMAGE, err, sizeof err), 0);
    p.width = 7681;
    assert_int_equal(media_validate(&p, MEDIA_KIND_IMAGE, err, sizeof err), -1);
    assert_non_null(strstr(err, "over Mastodon's limit of 33177600 pixels (7680x4320)"));
    p.width = 7680;
    p.size = 16LL * 1024 * 1024 + 1;
    assert_int_equal(media_validate(&p, MEDIA_KIND_IMAGE, err, sizeof err), -1);
    assert_non_null(strstr(err, "over Mastodon's limit of 16 MB for images"));
    p = video_probe(1280, 721, 10);
    strcpy(p.content_type, "image/gif");
    assert_int_equal(media_validate(&p, MEDIA_KIND_IMAGE, err, sizeof err), -1);
    assert_non_null(strstr(err, "GIF is 1280x721"));
}

static void test_classify(void **state)
{
    (void)state;
    media_probe p = video_probe(640, 360, 30);
    assert_int_equal(media_classify(&p), MEDIA_KIND_VIDEO);
    p.has_audio = false;
    assert_int_equal(media_classify(&p), MEDIA_KIND_GIFV);
    strcpy(p.content_type, "image/gif");
    p.frames = 2;
    assert_int_equal(media_classify(&p), MEDIA_KIND_GIFV);
    p.frames = 1;
    assert_int_equal(media_classify(&p), MEDIA_KIND_IMAGE);
    strcpy(p.content_type, "audio/mpeg");
    p.has_audio = true;
    p.cover_art = true;
    assert_int_equal(media_classify(&p), MEDIA_KIND_AUDIO);
    strcpy(p.content_type, "video/x-ms-asf"); /* Mastodon lists it among audio types */
    assert_int_equal(media_classify(&p), MEDIA_KIND_AUDIO);
    strcpy(p.content_type, "application/octet-stream");
    assert_int_equal(media_classify(&p), MEDIA_KIND_UNKNOWN);
    assert_string_equal(media_kind_name(MEDIA_KIND_GIFV), "gifv");
}

static void test_passthrough_rules(void **state)
{
    (void)state;
    media_probe p = video_probe(640, 360, 30);
    assert_true(media_video_passthrough_ok(&p));
    strcpy(p.pix_fmt, "yuvj420p");
    assert_true(media_video_passthrough_ok(&p));
    p.has_audio = false;
    assert_true(media_video_passthrough_ok(&p));
    p.has_audio = true;
    strcpy(p.audio_codec, "opus");
    assert_false(media_video_passthrough_ok(&p));
    p = video_probe(640, 360, 30);
    strcpy(p.pix_fmt, "yuv420p10le");
    assert_false(media_video_passthrough_ok(&p));
    p = video_probe(640, 360, 30);
    strcpy(p.content_type, "video/quicktime");
    assert_false(media_video_passthrough_ok(&p));
    p = video_probe(640, 360, 30);
    strcpy(p.video_codec, "hevc");
    assert_false(media_video_passthrough_ok(&p));
}

static void test_fit_pixels(void **state)
{
    (void)state;
    int w, h;
    media_fit_pixels(800, 600, MEDIA_SMALL_PIXELS, &w, &h);
    assert_int_equal(w, 554);
    assert_int_equal(h, 416);
    media_fit_pixels(640, 360, MEDIA_SMALL_PIXELS, &w, &h);
    assert_int_equal(w, 640);
    assert_int_equal(h, 360);
    media_fit_pixels(320, 200, MEDIA_SMALL_PIXELS, &w, &h);
    assert_int_equal(w, 320); /* never upscales */
    assert_int_equal(h, 200);
}

static int b83(const char *s, int n)
{
    static const char digits[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 83 + (int)(strchr(digits, s[i]) - digits);
    return v;
}

static media_rgb make_image(int w, int h, int r, int g, int b, bool gradient)
{
    media_rgb img = {malloc((size_t)w * h * 3), w, h, w * 3};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *px = img.data + (size_t)y * img.stride + 3 * x;
            px[0] = (uint8_t)(gradient ? 255 * x / (w - 1) : r);
            px[1] = (uint8_t)g;
            px[2] = (uint8_t)b;
        }
    return img;
}

static void test_blurhash_solid(void **state)
{
    (void)state;
    media_rgb img = make_image(32, 20, 200, 100, 50, false);
    char hash[64];
    assert_int_equal(media_blurhash(&img, 4, 4, hash, sizeof hash), 0);
    assert_int_equal(strlen(hash), 36);
    assert_int_equal(b83(hash, 1), 3 + 3 * 9);       /* size flag: 4x4 */
    assert_int_equal(b83(hash + 2, 4), (200 << 16) | (100 << 8) | 50); /* DC is the colour */
    /* One component: DC only, the "maximum AC" digit is 0. */
    assert_int_equal(media_blurhash(&img, 1, 1, hash, sizeof hash), 0);
    assert_int_equal(strlen(hash), 6);
    assert_int_equal(b83(hash, 2), 0);               /* size flag 1x1, no AC */
    assert_int_equal(b83(hash + 2, 4), (200 << 16) | (100 << 8) | 50);
    media_rgb_free(&img);
}

static void test_blurhash_gradient(void **state)
{
    (void)state;
    media_rgb img = make_image(64, 16, 0, 0, 0, true);
    char hash[64];
    assert_int_equal(media_blurhash(&img, 4, 3, hash, sizeof hash), 0);
    assert_int_equal(strlen(hash), 4 + 2 * 12);
    assert_int_equal(b83(hash, 1), 3 + 2 * 9);
    assert_true(b83(hash + 1, 1) > 0);               /* a horizontal ramp has AC energy */
    int first_ac = b83(hash + 6, 2);                 /* component (1,0): red falls left to right */
    assert_true(first_ac / (19 * 19) < 9);
    assert_int_equal((first_ac / 19) % 19, 9);       /* green and blue are flat */
    assert_int_equal(media_blurhash(&img, 10, 4, hash, sizeof hash), -1);
    assert_int_equal(media_blurhash(&img, 4, 4, hash, 10), -1);
    media_rgb_free(&img);
}

static void test_colors(void **state)
{
    (void)state;
    /* Blue picture with a white square in the middle. */
    media_rgb img = make_image(40, 40, 10, 10, 250, false);
    for (int y = 15; y < 25; y++)
        for (int x = 15; x < 25; x++)
            memset(img.data + (size_t)y * img.stride + 3 * x, 255, 3);
    media_colors c;
    assert_int_equal(media_colors_extract(&img, &c), 0);
    assert_string_equal(c.background, "#0c0cf3");  /* bin centre of the border's blue */
    assert_string_equal(c.foreground, "#f3f3f3");  /* white: the farthest colour with contrast >= 3 */
    /* No second colour qualifies: the background darkened by 35 points of lightness,
     * the most saturated candidate, becomes the accent. */
    assert_string_equal(c.accent, "#030349");
    media_rgb_free(&img);
}

static void test_runner_rejects_bad_settings(void **state)
{
    (void)state;
    media_runner_cfg cfg;
    media_runner_cfg_defaults(&cfg);
    cfg.slots = 0;
    char err[MEDIA_ERRLEN];
    assert_null(media_runner_new(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "slots >= 1"));
    media_runner_cfg_defaults(&cfg);
    media_runner *r = media_runner_new(&cfg, err, sizeof err);
    assert_non_null(r);
    assert_string_equal(media_runner_cgroup_mode(r), "none"); /* no quota asked */
    int running = -1, waiting = -1;
    double cpu = -1;
    media_runner_load(r, &running, &waiting, &cpu);
    assert_int_equal(running, 0);
    assert_int_equal(waiting, 0);
    assert_true(cpu == 0); /* no task has run */
    media_runner_free(r);
}

static void test_runner_options(void **state)
{
    (void)state;
    media_runner_cfg cfg;
    char err[MEDIA_ERRLEN];
    media_runner_cfg_defaults(&cfg);
    assert_int_equal(media_runner_cfg_set(&cfg, "media-slots", "3", err, sizeof err), 0);
    assert_int_equal(media_runner_cfg_set(&cfg, "media-threads", "2", err, sizeof err), 0);
    assert_int_equal(media_runner_cfg_set(&cfg, "media-cpu-quota", "0.5", err, sizeof err), 0);
    assert_int_equal(media_runner_cfg_set(&cfg, "media-timeout", "30", err, sizeof err), 0);
    assert_int_equal(cfg.slots, 3);
    assert_int_equal(cfg.threads, 2);
    assert_true(cfg.cpu_quota == 0.5);
    assert_true(cfg.timeout == 30);
    assert_int_equal(media_runner_cfg_set(&cfg, "media-threads", "0", err, sizeof err), -1);
    assert_string_equal(err, "--media-threads: '0' is not a number between 1 and 64");
    assert_int_equal(media_runner_cfg_set(&cfg, "media-slots", "2x", err, sizeof err), -1);
    assert_int_equal(media_runner_cfg_set(&cfg, "media-color", "red", err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown media option --media-color"));
    assert_int_equal(cfg.slots, 3); /* unchanged by the rejected value */
    assert_true(cfg.fork_server); /* the default */
    assert_int_equal(media_runner_cfg_set(&cfg, "media-fork-server", "off", err, sizeof err), 0);
    assert_false(cfg.fork_server);
    assert_int_equal(media_runner_cfg_set(&cfg, "media-fork-server", "yes", err, sizeof err), -1);
    assert_string_equal(err, "--media-fork-server: 'yes' is neither on nor off");
    assert_false(cfg.fork_server);
    assert_int_equal(media_runner_cfg_set(&cfg, "media-fork-server", "on", err, sizeof err), 0);
    assert_true(cfg.fork_server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitrate_formula),   cmocka_unit_test(test_validate_video),
        cmocka_unit_test(test_validate_images),   cmocka_unit_test(test_classify),
        cmocka_unit_test(test_passthrough_rules), cmocka_unit_test(test_fit_pixels),
        cmocka_unit_test(test_blurhash_solid),    cmocka_unit_test(test_blurhash_gradient),
        cmocka_unit_test(test_colors),
        cmocka_unit_test(test_runner_rejects_bad_settings), cmocka_unit_test(test_runner_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
