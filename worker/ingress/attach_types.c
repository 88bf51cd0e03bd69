/* attach_types.c -- the media types Mastodon downloads (MediaAttachment's
 * IMAGE_MIME_TYPES, VIDEO_MIME_TYPES and AUDIO_MIME_TYPES, mastodon.md §3.3). */
#include "attach.h"

#include <string.h>

static const char *const attach_supported_types[] = {
    "image/jpeg", "image/png", "image/gif", "image/heic", "image/heif", "image/webp", "image/avif",
    "video/webm", "video/mp4", "video/quicktime", "video/ogg",
    "audio/wave", "audio/wav", "audio/x-wav", "audio/x-pn-wave", "audio/vnd.wave", "audio/ogg",
    "audio/vorbis", "audio/mpeg", "audio/mp3", "audio/webm", "audio/flac", "audio/aac", "audio/m4a",
    "audio/x-m4a", "audio/mp4", "audio/3gpp", "video/x-ms-asf",
};

bool attach_media_type_supported(const char *mime)
{
    if (!mime || !*mime)
        return true;
    for (size_t i = 0; i < sizeof attach_supported_types / sizeof attach_supported_types[0]; i++)
        if (strcmp(mime, attach_supported_types[i]) == 0)
            return true;
    return false;
}
