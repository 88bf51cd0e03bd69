/* config_yaml.h -- helpers shared by the readers of sidekiq.yml sections. */
#ifndef SCOTTY_CONFIG_YAML_H
#define SCOTTY_CONFIG_YAML_H

#include <yaml.h>

#include "config.h"

/* A mapping key without Ruby's symbol colon (":concurrency" -> "concurrency"). */
const char *config_yaml_key(yaml_node_t *n);
/* The text of a scalar node, NULL for other nodes. */
const char *config_yaml_scalar(yaml_node_t *n);
/* config_schedule.c: reads the :scheduler: block into cfg->schedules. */
int config_schedule_apply(config *cfg, yaml_document_t *doc, yaml_node_t *block, char *err,
                          size_t errlen);

#endif
