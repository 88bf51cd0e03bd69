/* card.h -- link preview cards: LinkCrawlWorker [status_id, url] on the pull queue,
 * done natively the way Mastodon's FetchLinkCardService, FetchOEmbedService and
 * LinkDetailsExtractor do it (which link, the page fetch, oEmbed, OpenGraph, Twitter
 * cards, JSON-LD, the card image), writing preview_cards and preview_cards_statuses
 * and the image at Mastodon's object keys. card_register adds the handler. */
#ifndef SCOTTY_CARD_H
#define SCOTTY_CARD_H

#include "queues.h"

/* LinkCrawlWorker: queue pull, retry 0 (app/workers/link_crawl_worker.rb). Needs the
 * engine's user pointer to be a services (services.h). */
void card_register(q_registry *reg);

#endif
