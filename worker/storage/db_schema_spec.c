/* db_schema_spec.c -- the Mastodon tables scotty reads or writes, written from the
 * facts in shared/reference/mastodon.md §5 (Mastodon's db/schema.rb): column names,
 * types, defaults, unique indexes and foreign keys. `db init` creates exactly this;
 * `db check` requires every non-optional table and column. Ingress, delivery and
 * scheduler code add what they use here, in this one place. */
#include "db_schema.h"

#include <stddef.h>

/* ---- accounts ---- */
static const db_column accounts_cols[] = {
    {"username", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"domain", DB_T_STRING, NULL, false},
    {"private_key", DB_T_TEXT, NULL, false},
    {"public_key", DB_T_TEXT, "NOT NULL DEFAULT ''", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"note", DB_T_TEXT, "NOT NULL DEFAULT ''", false},
    {"display_name", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"uri", DB_T_STRING, NULL, false},
    {"url", DB_T_STRING, NULL, false},
    {"avatar_file_name", DB_T_STRING, NULL, false},
    {"avatar_content_type", DB_T_STRING, NULL, false},
    {"avatar_file_size", DB_T_INT, NULL, false},
    {"avatar_updated_at", DB_T_TS, NULL, false},
    {"header_file_name", DB_T_STRING, NULL, false},
    {"header_content_type", DB_T_STRING, NULL, false},
    {"header_file_size", DB_T_INT, NULL, false},
    {"header_updated_at", DB_T_TS, NULL, false},
    {"avatar_remote_url", DB_T_STRING, NULL, false},
    {"locked", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"header_remote_url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"last_webfingered_at", DB_T_TS, NULL, false},
    {"inbox_url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"outbox_url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"shared_inbox_url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"followers_url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"protocol", DB_T_INT, "NOT NULL DEFAULT 0", false},
    {"memorial", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"moved_to_account_id", DB_T_BIGINT, NULL, false},
    {"featured_collection_url", DB_T_STRING, NULL, false},
    {"fields", DB_T_JSONB, NULL, false},
    {"actor_type", DB_T_STRING, NULL, false},
    {"discoverable", DB_T_BOOL, NULL, false},
    {"also_known_as", DB_T_STRING_ARRAY, NULL, false},
    {"silenced_at", DB_T_TS, NULL, false},
    {"suspended_at", DB_T_TS, NULL, false},
    {"hide_collections", DB_T_BOOL, NULL, false},
    {"avatar_storage_schema_version", DB_T_INT, NULL, false},
    {"header_storage_schema_version", DB_T_INT, NULL, false},
    {"sensitized_at", DB_T_TS, NULL, false},
    {"suspension_origin", DB_T_INT, NULL, false},
    {"trendable", DB_T_BOOL, NULL, false},
    {"reviewed_at", DB_T_TS, NULL, false},
    {"requested_review_at", DB_T_TS, NULL, false},
    {"indexable", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"attribution_domains", DB_T_STRING_ARRAY, "DEFAULT '{}'", false},
    {"following_url", DB_T_STRING, "NOT NULL DEFAULT ''", true},
    {"id_scheme", DB_T_INT, "DEFAULT 1", true},
    {"feature_approval_policy", DB_T_INT, "NOT NULL DEFAULT 0", true},
    {"collections_url", DB_T_STRING, NULL, true},
    {"show_featured", DB_T_BOOL, "NOT NULL DEFAULT true", true},
    {"show_media", DB_T_BOOL, "NOT NULL DEFAULT true", true},
    {"show_media_replies", DB_T_BOOL, "NOT NULL DEFAULT true", true},
    {"avatar_description", DB_T_STRING, "NOT NULL DEFAULT ''", true},
    {"header_description", DB_T_STRING, "NOT NULL DEFAULT ''", true},
    {"requested_deletion_at", DB_T_TS6, NULL, true},
    {NULL, NULL, NULL, false},
};
static const char *const accounts_after[] = {
    "CREATE UNIQUE INDEX index_accounts_on_username_and_domain_lower ON accounts "
    "(lower((username)::text), COALESCE(lower((domain)::text), ''::text))",
    "CREATE INDEX index_accounts_on_domain_and_id ON accounts (domain, id)",
    "CREATE INDEX index_accounts_on_moved_to_account_id ON accounts (moved_to_account_id) "
    "WHERE moved_to_account_id IS NOT NULL",
    "CREATE UNIQUE INDEX index_accounts_on_uri ON accounts (uri)",
    "CREATE INDEX index_accounts_on_url ON accounts (url text_pattern_ops) WHERE url IS NOT NULL",
    NULL,
};

/* ---- account_stats ---- */
static const db_column account_stats_cols[] = {
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"statuses_count", DB_T_BIGINT, "NOT NULL DEFAULT 0", false},
    {"following_count", DB_T_BIGINT, "NOT NULL DEFAULT 0", false},
    {"followers_count", DB_T_BIGINT, "NOT NULL DEFAULT 0", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"last_status_at", DB_T_TS, NULL, false},
    {NULL, NULL, NULL, false},
};
static const char *const account_stats_after[] = {
    "CREATE UNIQUE INDEX index_account_stats_on_account_id ON account_stats (account_id)",
    "CREATE INDEX index_account_stats_on_last_status_at_and_account_id ON account_stats "
    "(last_status_at DESC NULLS LAST, account_id)",
    NULL,
};

/* ---- statuses ---- */
static const db_column statuses_cols[] = {
    {"uri", DB_T_STRING, NULL, false},
    {"text", DB_T_TEXT, "NOT NULL DEFAULT ''", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"in_reply_to_id", DB_T_BIGINT, NULL, false},
    {"reblog_of_id", DB_T_BIGINT, NULL, false},
    {"url", DB_T_STRING, NULL, false},
    {"sensitive", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"visibility", DB_T_INT, "NOT NULL DEFAULT 0", false},
    {"spoiler_text", DB_T_TEXT, "NOT NULL DEFAULT ''", false},
    {"reply", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"language", DB_T_STRING, NULL, false},
    {"conversation_id", DB_T_BIGINT, NULL, false},
    {"local", DB_T_BOOL, NULL, false},
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"application_id", DB_T_BIGINT, NULL, false},
    {"in_reply_to_account_id", DB_T_BIGINT, NULL, false},
    {"poll_id", DB_T_BIGINT, NULL, false},
    {"deleted_at", DB_T_TS, NULL, false},
    {"edited_at", DB_T_TS, NULL, false},
    {"trendable", DB_T_BOOL, NULL, false},
    {"ordered_media_attachment_ids", DB_T_BIGINT_ARRAY, NULL, false},
    {"fetched_replies_at", DB_T_TS6, NULL, true},
    {"quote_approval_policy", DB_T_INT, "NOT NULL DEFAULT 0", true},
    {NULL, NULL, NULL, false},
};
static const char *const statuses_after[] = {
    "CREATE UNIQUE INDEX index_statuses_on_uri ON statuses (uri text_pattern_ops) "
    "WHERE uri IS NOT NULL",
    "CREATE INDEX index_statuses_20190820 ON statuses (account_id, id DESC, visibility, updated_at) "
    "WHERE deleted_at IS NULL",
    "CREATE INDEX index_statuses_on_account_id ON statuses (account_id)",
    "CREATE INDEX index_statuses_on_conversation_id ON statuses (conversation_id)",
    "CREATE INDEX index_statuses_on_deleted_at ON statuses (deleted_at) WHERE deleted_at IS NOT NULL",
    "CREATE INDEX index_statuses_on_in_reply_to_account_id ON statuses (in_reply_to_account_id) "
    "WHERE in_reply_to_account_id IS NOT NULL",
    "CREATE INDEX index_statuses_on_in_reply_to_id ON statuses (in_reply_to_id) "
    "WHERE in_reply_to_id IS NOT NULL",
    "CREATE INDEX index_statuses_on_reblog_of_id_and_account_id ON statuses (reblog_of_id, account_id)",
    NULL,
};

/* ---- status_stats ---- */
static const db_column status_stats_cols[] = {
    {"status_id", DB_T_BIGINT, "NOT NULL", false},
    {"replies_count", DB_T_BIGINT, "NOT NULL DEFAULT 0", false},
    {"reblogs_count", DB_T_BIGINT, "NOT NULL DEFAULT 0", false},
    {"favourites_count", DB_T_BIGINT, "NOT NULL DEFAULT 0", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"untrusted_favourites_count", DB_T_BIGINT, NULL, false},
    {"untrusted_reblogs_count", DB_T_BIGINT, NULL, false},
    {"quotes_count", DB_T_BIGINT, "NOT NULL DEFAULT 0", true},
    {NULL, NULL, NULL, false},
};
static const char *const status_stats_after[] = {
    "CREATE UNIQUE INDEX index_status_stats_on_status_id ON status_stats (status_id)",
    NULL,
};

/* ---- media_attachments ---- */
static const db_column media_attachments_cols[] = {
    {"status_id", DB_T_BIGINT, NULL, false},
    {"file_file_name", DB_T_STRING, NULL, false},
    {"file_content_type", DB_T_STRING, NULL, false},
    {"file_file_size", DB_T_INT, NULL, false},
    {"file_updated_at", DB_T_TS, NULL, false},
    {"remote_url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"shortcode", DB_T_STRING, NULL, false},
    {"type", DB_T_INT, "NOT NULL DEFAULT 0", false},
    {"file_meta", DB_T_JSON, NULL, false},
    {"account_id", DB_T_BIGINT, NULL, false},
    {"description", DB_T_TEXT, NULL, false},
    {"scheduled_status_id", DB_T_BIGINT, NULL, false},
    {"blurhash", DB_T_STRING, NULL, false},
    {"processing", DB_T_INT, NULL, false},
    {"file_storage_schema_version", DB_T_INT, NULL, false},
    {"thumbnail_file_name", DB_T_STRING, NULL, false},
    {"thumbnail_content_type", DB_T_STRING, NULL, false},
    {"thumbnail_file_size", DB_T_INT, NULL, false},
    {"thumbnail_updated_at", DB_T_TS, NULL, false},
    {"thumbnail_remote_url", DB_T_STRING, NULL, false},
    {"thumbnail_storage_schema_version", DB_T_INT, NULL, false},
    {NULL, NULL, NULL, false},
};
static const char *const media_attachments_after[] = {
    "CREATE INDEX index_media_attachments_on_account_id_and_status_id ON media_attachments "
    "(account_id, status_id DESC)",
    "CREATE INDEX index_media_attachments_on_scheduled_status_id ON media_attachments "
    "(scheduled_status_id) WHERE scheduled_status_id IS NOT NULL",
    "CREATE UNIQUE INDEX index_media_attachments_on_shortcode ON media_attachments "
    "(shortcode text_pattern_ops) WHERE shortcode IS NOT NULL",
    "CREATE INDEX index_media_attachments_on_status_id ON media_attachments (status_id)",
    NULL,
};

/* ---- mentions ---- */
static const db_column mentions_cols[] = {
    {"status_id", DB_T_BIGINT, "NOT NULL", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"silent", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {NULL, NULL, NULL, false},
};
static const char *const mentions_after[] = {
    "CREATE UNIQUE INDEX index_mentions_on_account_id_and_status_id ON mentions "
    "(account_id, status_id)",
    "CREATE INDEX index_mentions_on_status_id ON mentions (status_id)",
    NULL,
};

/* ---- tags and statuses_tags ---- */
static const db_column tags_cols[] = {
    {"name", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"usable", DB_T_BOOL, NULL, false},
    {"trendable", DB_T_BOOL, NULL, false},
    {"listable", DB_T_BOOL, NULL, false},
    {"reviewed_at", DB_T_TS, NULL, false},
    {"requested_review_at", DB_T_TS, NULL, false},
    {"last_status_at", DB_T_TS, NULL, false},
    {"max_score", DB_T_FLOAT, NULL, false},
    {"max_score_at", DB_T_TS, NULL, false},
    {"display_name", DB_T_STRING, NULL, false},
    {NULL, NULL, NULL, false},
};
static const char *const tags_after[] = {
    "CREATE UNIQUE INDEX index_tags_on_name_lower_btree ON tags "
    "(lower((name)::text) text_pattern_ops)",
    NULL,
};
static const db_column statuses_tags_cols[] = {
    {"status_id", DB_T_BIGINT, "NOT NULL", false},
    {"tag_id", DB_T_BIGINT, "NOT NULL", false},
    {NULL, NULL, NULL, false},
};
static const char *const statuses_tags_after[] = {
    "ALTER TABLE statuses_tags ADD PRIMARY KEY (tag_id, status_id)",
    "CREATE INDEX index_statuses_tags_on_status_id ON statuses_tags (status_id)",
    NULL,
};

/* ---- conversations ---- */
static const db_column conversations_cols[] = {
    {"uri", DB_T_STRING, NULL, false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"parent_status_id", DB_T_BIGINT, NULL, false},
    {"parent_account_id", DB_T_BIGINT, NULL, false},
    {NULL, NULL, NULL, false},
};
static const char *const conversations_after[] = {
    "CREATE UNIQUE INDEX index_conversations_on_parent_status_id ON conversations "
    "(parent_status_id) WHERE parent_status_id IS NOT NULL",
    "CREATE UNIQUE INDEX index_conversations_on_uri ON conversations (uri text_pattern_ops) "
    "WHERE uri IS NOT NULL",
    NULL,
};

/* ---- tombstones ---- */
static const db_column tombstones_cols[] = {
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"uri", DB_T_STRING, "NOT NULL", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"by_moderator", DB_T_BOOL, NULL, false},
    {NULL, NULL, NULL, false},
};
static const char *const tombstones_after[] = {
    "CREATE INDEX index_tombstones_on_account_id ON tombstones (account_id)",
    "CREATE INDEX index_tombstones_on_uri ON tombstones (uri)",
    NULL,
};

/* ---- status_edits (Status#snapshot!, written by status Updates) ---- */
static const db_column status_edits_cols[] = {
    {"status_id", DB_T_BIGINT, "NOT NULL", false},
    {"account_id", DB_T_BIGINT, NULL, false},
    {"text", DB_T_TEXT, "NOT NULL DEFAULT ''", false},
    {"spoiler_text", DB_T_TEXT, "NOT NULL DEFAULT ''", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"ordered_media_attachment_ids", DB_T_BIGINT_ARRAY, NULL, false},
    {"media_descriptions", "text[]", NULL, false},
    {"poll_options", DB_T_STRING_ARRAY, NULL, false},
    {"sensitive", DB_T_BOOL, NULL, false},
    {"quote_id", DB_T_BIGINT, NULL, true},
    {NULL, NULL, NULL, false},
};
static const char *const status_edits_after[] = {
    "CREATE INDEX index_status_edits_on_account_id ON status_edits (account_id)",
    "CREATE INDEX index_status_edits_on_status_id ON status_edits (status_id)",
    NULL,
};

/* ---- follows ---- */
static const db_column follows_cols[] = {
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"target_account_id", DB_T_BIGINT, "NOT NULL", false},
    {"show_reblogs", DB_T_BOOL, "NOT NULL DEFAULT true", false},
    {"uri", DB_T_STRING, NULL, false},
    {"notify", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"languages", DB_T_STRING_ARRAY, NULL, false},
    {NULL, NULL, NULL, false},
};
static const char *const follows_after[] = {
    "CREATE UNIQUE INDEX index_follows_on_account_id_and_target_account_id ON follows "
    "(account_id, target_account_id)",
    "CREATE INDEX index_follows_on_target_account_id_and_account_id ON follows "
    "(target_account_id, account_id)",
    NULL,
};

/* ---- favourites ---- */
static const db_column favourites_cols[] = {
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"status_id", DB_T_BIGINT, "NOT NULL", false},
    {NULL, NULL, NULL, false},
};
static const char *const favourites_after[] = {
    "CREATE INDEX index_favourites_on_account_id_and_id ON favourites (account_id, id)",
    "CREATE UNIQUE INDEX index_favourites_on_account_id_and_status_id ON favourites "
    "(account_id, status_id)",
    "CREATE INDEX index_favourites_on_status_id ON favourites (status_id)",
    NULL,
};

/* ---- unavailable_domains and domain_blocks ---- */
static const db_column unavailable_domains_cols[] = {
    {"domain", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {NULL, NULL, NULL, false},
};
static const char *const unavailable_domains_after[] = {
    "CREATE UNIQUE INDEX index_unavailable_domains_on_domain ON unavailable_domains (domain)",
    NULL,
};
static const db_column domain_blocks_cols[] = {
    {"domain", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"severity", DB_T_INT, "DEFAULT 0", false},
    {"reject_media", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"reject_reports", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"private_comment", DB_T_TEXT, NULL, false},
    {"public_comment", DB_T_TEXT, NULL, false},
    {"obfuscate", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {NULL, NULL, NULL, false},
};
static const char *const domain_blocks_after[] = {
    "CREATE UNIQUE INDEX index_domain_blocks_on_domain ON domain_blocks (domain)",
    NULL,
};

/* ---- domain_allows, and the instances view over accounts and both domain lists ---- */
static const db_column domain_allows_cols[] = {
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"domain", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {NULL, NULL, NULL, false},
};
/* The view as Mastodon's schema defines it; new accounts refresh it
 * (worker/accounts/acct_subdomains.c), CONCURRENTLY, which needs its unique index. */
static const char *const domain_allows_after[] = {
    "CREATE UNIQUE INDEX index_domain_allows_on_domain ON domain_allows (domain)",
    "CREATE MATERIALIZED VIEW instances AS "
    "WITH domain_counts(domain, accounts_count) AS (SELECT accounts.domain, count(*) AS accounts_count "
    "FROM accounts WHERE accounts.domain IS NOT NULL GROUP BY accounts.domain) "
    "SELECT domain_counts.domain, domain_counts.accounts_count FROM domain_counts "
    "UNION SELECT domain_blocks.domain, COALESCE(domain_counts.accounts_count, 0::bigint) AS accounts_count "
    "FROM domain_blocks LEFT JOIN domain_counts ON domain_counts.domain::text = domain_blocks.domain::text "
    "UNION SELECT domain_allows.domain, COALESCE(domain_counts.accounts_count, 0::bigint) AS accounts_count "
    "FROM domain_allows LEFT JOIN domain_counts ON domain_counts.domain::text = domain_allows.domain::text",
    "CREATE INDEX index_instances_on_reverse_domain ON instances (reverse(('.'::text || (domain)::text)), domain)",
    "CREATE UNIQUE INDEX index_instances_on_domain ON instances (domain)",
    NULL,
};

/* ---- custom_emojis ---- */
static const db_column custom_emojis_cols[] = {
    {"shortcode", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"domain", DB_T_STRING, NULL, false},
    {"image_file_name", DB_T_STRING, NULL, false},
    {"image_content_type", DB_T_STRING, NULL, false},
    {"image_file_size", DB_T_INT, NULL, false},
    {"image_updated_at", DB_T_TS, NULL, false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"disabled", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"uri", DB_T_STRING, NULL, false},
    {"image_remote_url", DB_T_STRING, NULL, false},
    {"visible_in_picker", DB_T_BOOL, "NOT NULL DEFAULT true", false},
    {"category_id", DB_T_BIGINT, NULL, false},
    {"image_storage_schema_version", DB_T_INT, NULL, false},
    {NULL, NULL, NULL, false},
};
static const char *const custom_emojis_after[] = {
    "CREATE UNIQUE INDEX index_custom_emojis_on_shortcode_and_domain ON custom_emojis "
    "(shortcode, domain)",
    NULL,
};

/* ---- poll_votes (local accounts' votes; a status Update resetting a poll deletes them) ---- */
static const db_column poll_votes_cols[] = {
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"poll_id", DB_T_BIGINT, "NOT NULL", false},
    {"choice", DB_T_INT, "NOT NULL DEFAULT 0", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"uri", DB_T_STRING, NULL, false},
    {NULL, NULL, NULL, false},
};
static const char *const poll_votes_after[] = {
    "CREATE INDEX index_poll_votes_on_account_id ON poll_votes (account_id)",
    "CREATE INDEX index_poll_votes_on_poll_id ON poll_votes (poll_id)",
    NULL,
};

/* ---- notifications (a destroyed poll's are destroyed with it: Poll has_many
 * :notifications, as: :activity, dependent: :destroy) ---- */
static const db_column notifications_cols[] = {
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"activity_id", DB_T_BIGINT, "NOT NULL", false},
    {"activity_type", DB_T_STRING, "NOT NULL", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"from_account_id", DB_T_BIGINT, "NOT NULL", false},
    {"type", DB_T_STRING, NULL, false},
    {"filtered", DB_T_BOOL, "NOT NULL DEFAULT false", true},
    {"group_key", DB_T_STRING, NULL, true},
    {NULL, NULL, NULL, false},
};
static const char *const notifications_after[] = {
    "CREATE INDEX index_notifications_on_activity_id_and_activity_type ON notifications "
    "(activity_id, activity_type)",
    "CREATE INDEX index_notifications_on_from_account_id ON notifications (from_account_id)",
    NULL,
};

/* ---- notification_requests (Mastodon 4.3; reconsidered when a quote's notification
 * is destroyed with it) ---- */
static const db_column notification_requests_cols[] = {
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"created_at", DB_T_TS6, "NOT NULL", false},
    {"from_account_id", DB_T_BIGINT, "NOT NULL", false},
    {"last_status_id", DB_T_BIGINT, NULL, false},
    {"notifications_count", DB_T_BIGINT, "NOT NULL DEFAULT 0", false},
    {"updated_at", DB_T_TS6, "NOT NULL", false},
    {NULL, NULL, NULL, false},
};
static const char *const notification_requests_after[] = {
    "CREATE UNIQUE INDEX index_notification_requests_on_account_id_and_from_account_id ON "
    "notification_requests (account_id, from_account_id)",
    "CREATE INDEX index_notification_requests_on_from_account_id ON notification_requests (from_account_id)",
    "CREATE INDEX index_notification_requests_on_last_status_id ON notification_requests (last_status_id)",
    NULL,
};

/* ---- polls ---- */
static const db_column polls_cols[] = {
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"status_id", DB_T_BIGINT, "NOT NULL", false},
    {"expires_at", DB_T_TS, NULL, false},
    {"options", DB_T_STRING_ARRAY, "NOT NULL DEFAULT '{}'", false},
    {"cached_tallies", DB_T_BIGINT_ARRAY, "NOT NULL DEFAULT '{}'", false},
    {"multiple", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"hide_totals", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"votes_count", DB_T_BIGINT, "NOT NULL DEFAULT 0", false},
    {"last_fetched_at", DB_T_TS, NULL, false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"lock_version", DB_T_INT, "NOT NULL DEFAULT 0", false},
    {"voters_count", DB_T_BIGINT, NULL, false},
    {NULL, NULL, NULL, false},
};
static const char *const polls_after[] = {
    "CREATE INDEX index_polls_on_account_id ON polls (account_id)",
    "CREATE INDEX index_polls_on_status_id ON polls (status_id)",
    NULL,
};

/* ---- preview_cards and preview_cards_statuses ---- */
static const db_column preview_cards_cols[] = {
    {"url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"title", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"description", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"image_file_name", DB_T_STRING, NULL, false},
    {"image_content_type", DB_T_STRING, NULL, false},
    {"image_file_size", DB_T_INT, NULL, false},
    {"image_updated_at", DB_T_TS, NULL, false},
    {"type", DB_T_INT, "NOT NULL DEFAULT 0", false},
    {"html", DB_T_TEXT, "NOT NULL DEFAULT ''", false},
    {"author_name", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"author_url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"provider_name", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"provider_url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"width", DB_T_INT, "NOT NULL DEFAULT 0", false},
    {"height", DB_T_INT, "NOT NULL DEFAULT 0", false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"embed_url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"image_storage_schema_version", DB_T_INT, NULL, false},
    {"blurhash", DB_T_STRING, NULL, false},
    {"language", DB_T_STRING, NULL, false},
    {"max_score", DB_T_FLOAT, NULL, false},
    {"max_score_at", DB_T_TS, NULL, false},
    {"trendable", DB_T_BOOL, NULL, false},
    {"link_type", DB_T_INT, NULL, false},
    {"published_at", DB_T_TS6, NULL, false},
    {"image_description", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"author_account_id", DB_T_BIGINT, NULL, false},
    {"unverified_author_account_id", DB_T_BIGINT, NULL, true},
    {NULL, NULL, NULL, false},
};
static const char *const preview_cards_after[] = {
    "CREATE INDEX index_preview_cards_on_author_account_id ON preview_cards (author_account_id) "
    "WHERE author_account_id IS NOT NULL",
    "CREATE INDEX index_preview_cards_on_unverified_author_account_id_and_id ON preview_cards "
    "(unverified_author_account_id, id) WHERE unverified_author_account_id IS NOT NULL",
    "CREATE UNIQUE INDEX index_preview_cards_on_url ON preview_cards (url)",
    NULL,
};
static const db_column preview_cards_statuses_cols[] = {
    {"preview_card_id", DB_T_BIGINT, "NOT NULL", false},
    {"status_id", DB_T_BIGINT, "NOT NULL", false},
    {"url", DB_T_STRING, NULL, false},
    {NULL, NULL, NULL, false},
};
static const char *const preview_cards_statuses_after[] = {
    "ALTER TABLE preview_cards_statuses ADD PRIMARY KEY (status_id, preview_card_id)",
    NULL,
};

/* ---- quotes (Mastodon 4.4+) ---- */
static const db_column quotes_cols[] = {
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"status_id", DB_T_BIGINT, "NOT NULL", false},
    {"quoted_status_id", DB_T_BIGINT, NULL, false},
    {"quoted_account_id", DB_T_BIGINT, NULL, false},
    {"state", DB_T_INT, "NOT NULL DEFAULT 0", false},
    {"approval_uri", DB_T_STRING, NULL, false},
    {"activity_uri", DB_T_STRING, NULL, false},
    {"created_at", DB_T_TS6, "NOT NULL", false},
    {"updated_at", DB_T_TS6, "NOT NULL", false},
    {"legacy", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {NULL, NULL, NULL, false},
};
static const char *const quotes_after[] = {
    "CREATE UNIQUE INDEX index_quotes_on_activity_uri ON quotes (activity_uri) "
    "WHERE activity_uri IS NOT NULL",
    "CREATE INDEX index_quotes_on_approval_uri ON quotes (approval_uri) "
    "WHERE approval_uri IS NOT NULL",
    "CREATE INDEX index_quotes_on_quoted_status_id_and_id ON quotes (quoted_status_id, id)",
    "CREATE UNIQUE INDEX index_quotes_on_status_id ON quotes (status_id)",
    NULL,
};

/* ---- relays (read by Announce: a relay's boost only brings the status in; scotty
 * works without the table) ---- */
static const db_column relays_cols[] = {
    {"inbox_url", DB_T_STRING, "NOT NULL DEFAULT ''", false},
    {"follow_activity_id", DB_T_STRING, NULL, false},
    {"created_at", DB_T_TS, "NOT NULL", false},
    {"updated_at", DB_T_TS, "NOT NULL", false},
    {"state", DB_T_INT, "NOT NULL DEFAULT 0", false},
    {NULL, NULL, NULL, false},
};
static const char *const relays_after[] = {NULL};

/* ---- keypairs (newer Mastodon: per-account signing keys) ---- */
static const db_column keypairs_cols[] = {
    {"account_id", DB_T_BIGINT, "NOT NULL", false},
    {"type", DB_T_INT, "NOT NULL", false},
    {"public_key", DB_T_STRING, "NOT NULL", false},
    {"private_key", DB_T_STRING, NULL, false},
    {"uri", DB_T_STRING, NULL, false},
    {"local_fragment", DB_T_STRING, NULL, false},
    {"expires_at", DB_T_TS6, NULL, false},
    {"revoked", DB_T_BOOL, "NOT NULL DEFAULT false", false},
    {"created_at", DB_T_TS6, "NOT NULL", false},
    {"updated_at", DB_T_TS6, "NOT NULL", false},
    {NULL, NULL, NULL, false},
};
static const char *const keypairs_after[] = {
    "CREATE UNIQUE INDEX index_keypairs_on_uri ON keypairs (uri)",
    "CREATE UNIQUE INDEX index_keypairs_on_account_id_and_local_fragment ON keypairs "
    "(account_id, local_fragment)",
    NULL,
};

const db_table db_schema_tables[] = {
    {"accounts", DB_ID_TIMESTAMP, false, accounts_cols, accounts_after},
    {"account_stats", DB_ID_BIGSERIAL, false, account_stats_cols, account_stats_after},
    {"conversations", DB_ID_BIGSERIAL, false, conversations_cols, conversations_after},
    {"statuses", DB_ID_TIMESTAMP, false, statuses_cols, statuses_after},
    {"status_stats", DB_ID_BIGSERIAL, false, status_stats_cols, status_stats_after},
    {"media_attachments", DB_ID_TIMESTAMP, false, media_attachments_cols, media_attachments_after},
    {"mentions", DB_ID_BIGSERIAL, false, mentions_cols, mentions_after},
    {"tags", DB_ID_BIGSERIAL, false, tags_cols, tags_after},
    {"statuses_tags", DB_ID_NONE, false, statuses_tags_cols, statuses_tags_after},
    {"tombstones", DB_ID_BIGSERIAL, false, tombstones_cols, tombstones_after},
    {"status_edits", DB_ID_BIGSERIAL, false, status_edits_cols, status_edits_after},
    {"follows", DB_ID_BIGSERIAL, false, follows_cols, follows_after},
    {"favourites", DB_ID_BIGSERIAL, false, favourites_cols, favourites_after},
    {"unavailable_domains", DB_ID_BIGSERIAL, false, unavailable_domains_cols,
     unavailable_domains_after},
    {"domain_blocks", DB_ID_BIGSERIAL, false, domain_blocks_cols, domain_blocks_after},
    {"domain_allows", DB_ID_BIGSERIAL, false, domain_allows_cols, domain_allows_after},
    {"custom_emojis", DB_ID_BIGSERIAL, false, custom_emojis_cols, custom_emojis_after},
    {"polls", DB_ID_BIGSERIAL, false, polls_cols, polls_after},
    {"poll_votes", DB_ID_BIGSERIAL, false, poll_votes_cols, poll_votes_after},
    {"notifications", DB_ID_BIGSERIAL, false, notifications_cols, notifications_after},
    {"preview_cards", DB_ID_BIGSERIAL, false, preview_cards_cols, preview_cards_after},
    {"preview_cards_statuses", DB_ID_NONE, false, preview_cards_statuses_cols,
     preview_cards_statuses_after},
    {"quotes", DB_ID_TIMESTAMP, true, quotes_cols, quotes_after},
    {"notification_requests", DB_ID_TIMESTAMP, true, notification_requests_cols, notification_requests_after},
    {"keypairs", DB_ID_BIGSERIAL, true, keypairs_cols, keypairs_after},
    {"relays", DB_ID_BIGSERIAL, true, relays_cols, relays_after},
    {NULL, DB_ID_NONE, false, NULL, NULL},
};

const char *const db_schema_optional_unique[] = {
    "index_accounts_on_uri", /* unique since Mastodon's migration 20260720104058 */
    NULL,
};

const char *const db_schema_foreign_keys[] = {
    "ALTER TABLE account_stats ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE accounts ADD FOREIGN KEY (moved_to_account_id) REFERENCES accounts (id) "
    "ON DELETE SET NULL",
    "ALTER TABLE favourites ADD CONSTRAINT fk_5eb6c2b873 FOREIGN KEY (account_id) "
    "REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE favourites ADD CONSTRAINT fk_b0e856845e FOREIGN KEY (status_id) "
    "REFERENCES statuses (id) ON DELETE CASCADE",
    "ALTER TABLE follows ADD CONSTRAINT fk_745ca29eac FOREIGN KEY (target_account_id) "
    "REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE follows ADD CONSTRAINT fk_32ed1b5560 FOREIGN KEY (account_id) "
    "REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE media_attachments ADD CONSTRAINT fk_96dd81e81b FOREIGN KEY (account_id) "
    "REFERENCES accounts (id) ON DELETE SET NULL",
    "ALTER TABLE media_attachments ADD FOREIGN KEY (status_id) REFERENCES statuses (id) "
    "ON DELETE SET NULL",
    "ALTER TABLE mentions ADD CONSTRAINT fk_970d43f9d1 FOREIGN KEY (account_id) "
    "REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE mentions ADD FOREIGN KEY (status_id) REFERENCES statuses (id) ON DELETE CASCADE",
    "ALTER TABLE poll_votes ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE poll_votes ADD FOREIGN KEY (poll_id) REFERENCES polls (id) ON DELETE CASCADE",
    "ALTER TABLE notifications ADD CONSTRAINT fk_fbd6b0bf9e FOREIGN KEY (from_account_id) "
    "REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE notifications ADD CONSTRAINT fk_c141c8ee55 FOREIGN KEY (account_id) "
    "REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE notification_requests ADD FOREIGN KEY (from_account_id) REFERENCES accounts (id) "
    "ON DELETE CASCADE",
    "ALTER TABLE notification_requests ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE notification_requests ADD FOREIGN KEY (last_status_id) REFERENCES statuses (id) "
    "ON DELETE SET NULL",
    "ALTER TABLE polls ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE polls ADD FOREIGN KEY (status_id) REFERENCES statuses (id) ON DELETE CASCADE",
    "ALTER TABLE preview_cards ADD FOREIGN KEY (author_account_id) REFERENCES accounts (id) "
    "ON DELETE SET NULL",
    "ALTER TABLE preview_cards ADD FOREIGN KEY (unverified_author_account_id) REFERENCES accounts (id) "
    "ON DELETE SET NULL",
    "ALTER TABLE quotes ADD FOREIGN KEY (quoted_account_id) REFERENCES accounts (id) "
    "ON DELETE SET NULL",
    "ALTER TABLE quotes ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE quotes ADD FOREIGN KEY (quoted_status_id) REFERENCES statuses (id) "
    "ON DELETE SET NULL",
    "ALTER TABLE quotes ADD FOREIGN KEY (status_id) REFERENCES statuses (id) ON DELETE CASCADE",
    "ALTER TABLE status_stats ADD FOREIGN KEY (status_id) REFERENCES statuses (id) ON DELETE CASCADE",
    "ALTER TABLE statuses ADD CONSTRAINT fk_c7fa917661 FOREIGN KEY (in_reply_to_account_id) "
    "REFERENCES accounts (id) ON DELETE SET NULL",
    "ALTER TABLE statuses ADD CONSTRAINT fk_9bda1543f7 FOREIGN KEY (account_id) "
    "REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE statuses ADD FOREIGN KEY (in_reply_to_id) REFERENCES statuses (id) "
    "ON DELETE SET NULL",
    "ALTER TABLE statuses ADD FOREIGN KEY (reblog_of_id) REFERENCES statuses (id) ON DELETE CASCADE",
    "ALTER TABLE statuses_tags ADD FOREIGN KEY (status_id) REFERENCES statuses (id) "
    "ON DELETE CASCADE",
    "ALTER TABLE statuses_tags ADD CONSTRAINT fk_3081861e21 FOREIGN KEY (tag_id) "
    "REFERENCES tags (id) ON DELETE CASCADE",
    "ALTER TABLE status_edits ADD CONSTRAINT fk_rails_a960f234a0 FOREIGN KEY (account_id) "
    "REFERENCES accounts (id) ON DELETE SET NULL",
    "ALTER TABLE status_edits ADD CONSTRAINT fk_rails_b23a7e4e3d FOREIGN KEY (status_id) "
    "REFERENCES statuses (id) ON DELETE CASCADE",
    "ALTER TABLE tombstones ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE",
    "ALTER TABLE keypairs ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE",
    NULL,
};
