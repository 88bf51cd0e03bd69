/* control_schedules.c -- the `schedules` command's reply: every periodic job
 * this process runs, with its timing as written and its last and next firing
 * (q_schedule_times: the sidekiq-scheduler hashes the Web tab reads, else the
 * scheduler's own computation). Runs on the control thread. */
#include "control_internal.h"

static const char *control_schedule_kind(q_sched_kind k)
{
    switch (k) {
    case Q_SCHED_CRON:
        return "cron";
    case Q_SCHED_EVERY:
        return "every";
    case Q_SCHED_INTERVAL:
        return "interval";
    case Q_SCHED_AT:
        return "at";
    case Q_SCHED_IN:
        return "in";
    }
    return "unknown";
}

static json_t *control_epoch(double t)
{
    return t > 0 ? json_integer((json_int_t)t) : json_null();
}

json_t *control_schedules_json(const q_schedule *s, int n, q_conn *c, char *err, size_t errlen)
{
    json_t *arr = json_array();
    double now = base_now();
    for (int i = 0; i < n; i++) {
        double last, next;
        if (q_schedule_times(c, &s[i], now, &last, &next, err, errlen) != 0) {
            json_decref(arr);
            return NULL;
        }
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "name", s[i].name, "class", s[i].klass,
                              "queue", s[i].queue, "kind", control_schedule_kind(s[i].kind), "expr", s[i].expr,
                              "description", s[i].description, "enabled", s[i].enabled);
        if (s[i].kind == Q_SCHED_EVERY && s[i].first_in > 0)
            json_object_set_new(j, "first_in", json_real(s[i].first_in));
        json_object_set_new(j, "last_run", control_epoch(last));
        json_object_set_new(j, "next_run", control_epoch(next));
        json_array_append_new(arr, j);
    }
    return arr;
}
