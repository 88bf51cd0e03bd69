/* curlshare.c -- a libcurl share handle whose lock callbacks take the mutex of
 * the structure curl is about to use (curlshare.h). */
#include "curlshare.h"

static void curlshare_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    curlshare *s = ud;
    pthread_mutex_lock(&s->locks[data]);
}

static void curlshare_unlock(CURL *h, curl_lock_data data, void *ud)
{
    curlshare *s = ud;
    pthread_mutex_unlock(&s->locks[data]);
}

int curlshare_init(curlshare *s)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&s->locks[i], NULL);
    s->sh = curl_share_init();
    if (s->sh &&
        curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, curlshare_lock) == CURLSHE_OK &&
        curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, curlshare_unlock) == CURLSHE_OK &&
        curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s) == CURLSHE_OK &&
        curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) == CURLSHE_OK &&
        curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK &&
        curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) == CURLSHE_OK)
        return 0;
    if (s->sh)
        curl_share_cleanup(s->sh);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&s->locks[i]);
    s->sh = NULL;
    return -1;
}

void curlshare_cleanup(curlshare *s)
{
    if (!s->sh)
        return;
    curl_share_cleanup(s->sh);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&s->locks[i]);
    s->sh = NULL;
}
