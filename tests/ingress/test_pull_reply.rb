# test_pull_reply.rb -- FetchReplyWorker [child_url, options] pushed with Mastodon's
# args: the reply fetched from the fixture origin and stored under its known author,
# its jid taken out of the WorkerBatch (finishing the async refresh it feeds),
# prefetched bodies used without a request, a reply fetched again processed as an
# Update, gone replies dropped, a 503 retried with ExponentialBackoff, and an unknown
# author forwarded unchanged or failed clearly.
require_relative 'pull_helper'

class TestPullReply < PullTest
  CAROL = 3

  def fetch_reply(url, options = {}, jid: nil, extra: {})
    item = { 'class' => 'FetchReplyWorker', 'queue' => 'pull', 'retry' => 3, 'args' => [url, options] }
    item['jid'] = jid if jid
    Sidekiq::Client.push(item.merge(extra))
  end

  # A WorkerBatch as FetchRepliesService and an async refresh leave it.
  def add_batch(id, jids, refresh)
    @redis.sadd("worker_batch:#{id}:jobs", jids)
    @redis.hset("worker_batch:#{id}", 'pending', jids.size, 'async_refresh_key', refresh, 'threshold', '1.0')
    @redis.hset(refresh, 'status', 'running', 'result_count', 0)
  end

  def test_reply_stored_and_batch_finished
    start_fixture_origin
    add_origin_account(CAROL, 'carol', followed_by: ALICE)
    first = serve_note(HOST, 'carol', 1, text: 'first reply')
    second = serve_note(HOST, 'carol', 2, text: 'second reply')
    jids = %w[aaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbb]
    add_batch('b1', jids, 'context:refresh:1')
    fetch_reply(first, { 'request_id' => 'req-1', 'batch_id' => 'b1' }, jid: jids[0])
    start_queue_scotty('pull')
    wait_queue_idle('pull')

    refute_nil status_id(first), "the reply is stored\n#{@scottys[0].log}"
    assert_equal [CAROL.to_s, '<p>first reply</p>', 'f'],
                 rows("SELECT account_id, text, local FROM statuses WHERE uri = #{q(first)}").first
    assert_equal [jids[1]], @redis.smembers('worker_batch:b1:jobs'), 'its jid left the batch'
    assert_equal({ 'pending' => '1', 'processed' => '1' },
                 @redis.hgetall('worker_batch:b1').slice('pending', 'processed'))
    assert_equal %w[running 1], @redis.hmget('context:refresh:1', 'status', 'result_count')
    assert_equal '1', @redis.get('status_discovery_per_request:req-1'), 'counted against its request'

    fetch_reply(second, { 'request_id' => 'req-1', 'batch_id' => 'b1' }, jid: jids[1])
    wait_queue_idle('pull')
    refute_nil status_id(second)
    assert_equal 0, @redis.exists('worker_batch:b1', 'worker_batch:b1:jobs'), 'the finished batch is gone'
    assert_equal %w[finished 2], @redis.hmget('context:refresh:1', 'status', 'result_count')
    assert_operator @redis.ttl('context:refresh:1'), :<=, 3600

    # already stored: nothing new, and the batch's refresh count is not increased
    add_batch('b2', ['cccccccccccccccccccccccc'], 'context:refresh:2')
    fetch_reply(first, { 'batch_id' => 'b2' }, jid: 'cccccccccccccccccccccccc')
    wait_queue_idle('pull')
    assert_equal 1, count('statuses', "uri = #{q(first)}")
    assert_equal %w[finished 0], @redis.hmget('context:refresh:2', 'status', 'result_count')
  end

  # FetchRemoteStatusService makes an Update of a status its author already has here:
  # a newer edit is applied, the same version again changes nothing, and both count
  # against their request. One another account has is left as it is.
  def test_known_reply_fetched_again_is_processed_as_an_update
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    url = serve_note(HOST, 'carol', 1, text: 'first version')
    fetch_reply(url)
    start_queue_scotty('pull')
    wait_queue_idle('pull')
    id = status_id(url)
    refute_nil id, @scottys[0].log

    edited = { '@context' => 'https://www.w3.org/ns/activitystreams', 'id' => url, 'type' => 'Note',
               'attributedTo' => origin_url(HOST, 'users/carol'), 'content' => '<p>second version</p>',
               'published' => '2020-01-01T10:00:00Z', 'updated' => '2020-01-02T10:00:00Z', 'to' => [PUBLIC] }
    serve(HOST, 'users/carol/statuses/1', edited)
    fetch_reply(url, { 'request_id' => 'req-edit' })
    wait_queue_idle('pull')
    assert_equal [['<p>second version</p>', '2020-01-02 10:00:00']],
                 rows("SELECT text, edited_at FROM statuses WHERE uri = #{q(url)}"), @scottys[0].log
    assert_equal ['<p>first version</p>', '<p>second version</p>'],
                 rows("SELECT text FROM status_edits WHERE status_id = #{id} ORDER BY id").map(&:first)
    assert_equal '1', @redis.get('status_discovery_per_request:req-edit'), 'counted against its request'

    serve(HOST, 'users/carol/statuses/1', edited.merge('content' => '<p>not an edit</p>'))
    fetch_reply(url)
    wait_queue_idle('pull')
    assert_equal '<p>second version</p>', psql("SELECT text FROM statuses WHERE id = #{id}").strip,
                 'the same updated time is no edit'
    assert_equal 2, count('status_edits', "status_id = #{id}")

    # the URI is taken by another account's status: nothing is written
    add_origin_account(4, 'erin')
    taken = add_status(900, uri: origin_url(HOST, 'users/carol/statuses/2'), account: 4)
    serve(HOST, 'users/carol/statuses/2', edited.merge('id' => origin_url(HOST, 'users/carol/statuses/2')))
    fetch_reply(origin_url(HOST, 'users/carol/statuses/2'))
    wait_queue_idle('pull')
    assert_equal [['4', 'text']], rows("SELECT account_id, text FROM statuses WHERE id = #{taken}")
    assert_equal 0, @redis.zcard('retry') + @redis.zcard('dead'), @scottys[0].log
  end

  # A fetched status tagging a FeaturedCollection needs tagged_objects, which scotty does
  # not write: the job goes to Ruby unchanged, for a new status and for a known one.
  def test_reply_tagging_a_featured_collection_is_left_to_ruby
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    known = serve_note(HOST, 'carol', 1, text: 'known')
    fetch_reply(known)
    start_queue_scotty('pull', '--forward-unhandled', 'ruby')
    wait_queue_idle('pull')
    refute_nil status_id(known), @scottys[0].log

    tag = [{ 'type' => 'FeaturedCollection', 'id' => origin_url(HOST, 'users/carol/collections/1') }]
    body = { '@context' => 'https://www.w3.org/ns/activitystreams', 'type' => 'Note',
             'attributedTo' => origin_url(HOST, 'users/carol'), 'content' => '<p>see my collection</p>',
             'published' => '2020-01-01T10:00:00Z', 'updated' => '2020-01-03T10:00:00Z', 'to' => [PUBLIC], 'tag' => tag }
    fresh = origin_url(HOST, 'users/carol/statuses/5')
    jids = [fetch_reply(fresh, { 'prefetched_body' => body.merge('id' => fresh) }),
            fetch_reply(known, { 'prefetched_body' => body.merge('id' => known) })]
    wait_queue_idle('pull')
    assert_equal jids.sort, queued('ruby').map { |j| j['jid'] }.sort, @scottys[0].log
    assert_nil status_id(fresh)
    assert_equal '<p>known</p>', psql("SELECT text FROM statuses WHERE uri = #{q(known)}").strip
    assert_match(/tagging a FeaturedCollection/, @scottys[0].log)
  end

  # DomainControlHelper#domain_not_allowed?: a suspended domain is never asked, nor, in
  # limited federation mode, a domain missing from domain_allows.
  def test_status_on_a_domain_not_federated_with_is_not_fetched
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    add_origin_account(4, 'erin', host: OTHER)
    psql('TRUNCATE domain_blocks, domain_allows')
    psql("INSERT INTO domain_blocks (domain, severity, reject_media, created_at, updated_at) VALUES " \
         "(#{q(OTHER)}, 1, false, now(), now())")
    blocked = serve_note(OTHER, 'erin', 1, text: 'from a suspended domain')
    fetch_reply(blocked)
    start_queue_scotty('pull')
    wait_queue_idle('pull')
    assert_nil status_id(blocked), @scottys[0].log
    assert_empty origin_requests, 'nothing asked of a suspended domain'
    assert_match(/does not federate with \(suspended by a domain block\)/, @scottys[0].log)
    @scottys[0].stop

    psql('TRUNCATE domain_blocks')
    psql("INSERT INTO domain_allows (domain, created_at, updated_at) VALUES (#{q(HOST)}, now(), now())")
    allowed = serve_note(HOST, 'carol', 1, text: 'from an allowed domain')
    fetch_reply(blocked)
    fetch_reply(allowed)
    start_queue_scotty('pull', env: { 'LIMITED_FEDERATION_MODE' => 'true' })
    wait_queue_idle('pull')
    refute_nil status_id(allowed), @scottys.last.log
    assert_nil status_id(blocked)
    assert_equal [HOST], origin_requests.map { |r| r['host'].to_s.split(':').first }.uniq,
                 "only the allowed domain was asked\n#{origin_requests}"
    assert_match(/not in domain_allows, limited federation mode/, @scottys.last.log)
    assert_equal 0, @redis.zcard('retry') + @redis.zcard('dead')
  end

  def test_prefetched_body_is_not_fetched_again
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    url = origin_url(HOST, 'users/carol/statuses/9')
    body = { '@context' => 'https://www.w3.org/ns/activitystreams', 'id' => url, 'type' => 'Note',
             'attributedTo' => origin_url(HOST, 'users/carol'), 'content' => '<p>prefetched</p>',
             'to' => [PUBLIC] }
    other = origin_url(HOST, 'users/carol/statuses/10')
    fetch_reply(url, { 'prefetched_body' => JSON.generate(body) })
    fetch_reply(other, { 'prefetched_body' => body.merge('id' => other, 'content' => '<p>as an object</p>') })
    fetch_reply(origin_url(HOST, 'users/carol/statuses/11'), { 'prefetched_body' => body })
    start_queue_scotty('pull')
    wait_queue_idle('pull')
    assert_equal '<p>prefetched</p>', psql("SELECT text FROM statuses WHERE uri = #{q(url)}").strip,
                 @scottys[0].log
    assert_equal '<p>as an object</p>', psql("SELECT text FROM statuses WHERE uri = #{q(other)}").strip
    assert_equal 2, count('statuses'), 'a prefetched body with another id is not stored'
    assert_empty origin_requests, 'no request for a prefetched body'
  end

  def test_gone_reply_dropped_unavailable_or_hanging_origin_retried
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    fetch_reply(origin_url(HOST, 'users/carol/statuses/404'))
    fetch_reply(origin_url(HOST, '_status/410'))
    fetch_reply(origin_url(HOST, '_status/503'))
    # its third failure (retry_count 1 -> 2): ExponentialBackoff and Sidekiq's default differ
    again = fetch_reply(origin_url(HOST, '_status/503'),
                        extra: { 'retry_count' => 1, 'failed_at' => Time.now.to_f - 60 })
    fetch_reply(origin_url(HOST, '_hang'))
    start_queue_scotty('pull', env: { 'SCOTTY_HTTP_READ_TIMEOUT' => '1' })
    wait_queue_idle('pull')
    assert_equal 0, count('statuses')
    retry_jobs = @redis.zrange('retry', 0, -1, with_scores: true).map { |j, at| [JSON.parse(j), at] }
    assert_equal [origin_url(HOST, '_hang'), origin_url(HOST, '_status/503'), origin_url(HOST, '_status/503')],
                 retry_jobs.map { |j, _| j['args'][0] }.sort, "404 and 410 are not retried\n#{@scottys[0].log}"
    hung = retry_jobs.find { |j, _| j['args'][0].end_with?('_hang') }[0]
    assert_match(/timed out|timeout/i, hung['error_message'])
    job, at = retry_jobs.find { |j, _| j['args'][0].end_with?('503') && j['jid'] != again }
    assert_equal [origin_url(HOST, '_status/503'), 0], [job['args'][0], job['retry_count']]
    assert_match(/answered 503/, job['error_message'])
    assert_includes Backoff.exponential(0, 8), Backoff.delay_of(job, at), 'ExponentialBackoff at count 0'
    job, at = retry_jobs.find { |j, _| j['jid'] == again }
    assert_equal 2, job['retry_count']
    assert_includes Backoff.exponential(2, 8), Backoff.delay_of(job, at),
                    "ExponentialBackoff at count 2 (Sidekiq's default: #{Backoff.sidekiq_default(2, 8)})"
  end

  # An author whose actor answers 404: Mastodon's FetchRemoteStatusService returns nil,
  # FetchReplyWorker ends without an error and leaves its batch (WorkerBatch#remove_job).
  def test_unresolvable_author_stores_nothing_and_leaves_the_batch
    start_fixture_origin
    url = serve_note(HOST, 'dave', 1, text: 'who is dave')
    jid = 'dddddddddddddddddddddddd'
    add_batch('b3', [jid], 'context:refresh:3')
    fetch_reply(url, { 'request_id' => 'r', 'batch_id' => 'b3' }, jid: jid)
    start_queue_scotty('pull', '--forward-unhandled', 'ruby')
    wait_queue_idle('pull')
    assert_empty queued('ruby'), @scottys[0].log
    assert_equal 0, count('statuses')
    assert_equal 0, @redis.zcard('retry') + @redis.zcard('dead'), 'no retry: Mastodon raises nothing'
    assert_equal 0, @redis.exists('worker_batch:b3', 'worker_batch:b3:jobs'), 'its batch finished'

    # a known author's quote post of dave's note: stored with its quote, which stays
    # pending without the quoted post (its author unresolvable here too)
    add_origin_account(CAROL, 'carol')
    quote = origin_url(HOST, 'users/carol/statuses/q')
    serve(HOST, 'users/carol/statuses/q', '@context' => 'https://www.w3.org/ns/activitystreams', 'id' => quote,
                                          'type' => 'Note', 'attributedTo' => origin_url(HOST, 'users/carol'),
                                          'content' => '<p>look</p>', 'quote' => url, 'to' => [PUBLIC])
    fetch_reply(quote)
    wait_queue_idle('pull')
    assert_empty queued('ruby'), @scottys[0].log
    assert_equal [['0', CAROL.to_s, '0']],
                 rows("SELECT q.state, q.account_id, coalesce(q.quoted_status_id, 0) FROM quotes q JOIN statuses s " \
                      "ON s.id = q.status_id WHERE s.uri = #{q(quote)}"), @scottys[0].log
    assert_equal 1, count('statuses')
  end
end
