# test_pull_replies.rb -- ActivityPub::FetchRepliesWorker [parent_status_id, replies_uri,
# options] pushed with Mastodon's args: the replies collection and its first page read
# from the fixture origin, at most 5 reply URIs on the parent author's host kept, one
# FetchReplyWorker [uri, {"request_id", "batch_id"}] each in a WorkerBatch (then run,
# storing the replies and finishing the batch); collections on other hosts and missing
# parents are no-ops.
require_relative 'pull_helper'

class TestPullReplies < PullTest
  CAROL = 3
  PARENT = 113_800_000_000_000_000

  # The worker runs on its own queue so the FetchReplyWorker jobs it pushes on `pull`
  # stay there to be read.
  def fetch_replies(parent, collection, options)
    Sidekiq::Client.push('class' => 'ActivityPub::FetchRepliesWorker', 'queue' => 'replies', 'retry' => 3,
                         'args' => [parent, collection, options])
  end

  def setup_parent
    start_fixture_origin
    add_origin_account(CAROL, 'carol', followed_by: ALICE)
    add_status(PARENT, uri: origin_url(HOST, 'users/carol/statuses/1'), account: CAROL)
  end

  def test_five_same_host_replies_fetched_in_one_batch
    setup_parent
    mine = (1..6).map { |i| serve_note(HOST, 'carol', 100 + i, text: "reply #{i}") }
    foreign = [origin_url(OTHER, 'users/x/statuses/1'), origin_url(OTHER, 'users/x/statuses/2')]
    items = [mine[0], foreign[0], { 'id' => mine[1], 'type' => 'Note' }, mine[2], foreign[1], mine[3],
             mine[4], mine[5]]
    page = serve(HOST, 'users/carol/statuses/1/replies/page1',
                 '@context' => 'https://www.w3.org/ns/activitystreams', 'type' => 'CollectionPage',
                 'id' => origin_url(HOST, 'users/carol/statuses/1/replies/page1'), 'items' => items)
    collection = serve(HOST, 'users/carol/statuses/1/replies',
                       '@context' => 'https://www.w3.org/ns/activitystreams', 'type' => 'Collection',
                       'id' => origin_url(HOST, 'users/carol/statuses/1/replies'), 'first' => page)
    fetch_replies(PARENT, collection, { 'request_id' => 'rq-1' })
    start_queue_scotty('replies')
    wait_queue_idle('replies')

    jobs = queued('pull', 'FetchReplyWorker')
    assert_equal mine[0, 5].sort, jobs.map { |j| j['args'][0] }.sort,
                 "the first 5 replies on the author's host\n#{@scottys[0].log}"
    batch = jobs[0]['args'][1]['batch_id']
    assert_match(/\A\h{24}\z/, batch, 'a new WorkerBatch id, SecureRandom.hex(12)')
    jobs.each do |j|
      assert_equal [{ 'request_id' => 'rq-1', 'batch_id' => batch }, 3, 'pull'],
                   [j['args'][1], j['retry'], j['queue']]
    end
    assert_equal jobs.map { |j| j['jid'] }.sort, @redis.smembers("worker_batch:#{batch}:jobs").sort
    assert_equal '5', @redis.hget("worker_batch:#{batch}", 'pending')
    assert_operator @redis.ttl("worker_batch:#{batch}:jobs"), :>, 0
    assert_equal [], origin_requests.map { |r| r['host'] }.uniq - [HOST], 'nothing asked of the other host'

    start_queue_scotty('pull')
    wait_queue_idle('pull')
    assert_equal 5, count('statuses', "account_id = #{CAROL} AND id <> #{PARENT}"), @scottys.last.log
    assert_equal 0, @redis.exists("worker_batch:#{batch}", "worker_batch:#{batch}:jobs"), 'batch finished'
  end

  def test_embedded_ordered_first_page_and_given_batch
    setup_parent
    reply = serve_note(HOST, 'carol', 201, text: 'ordered')
    collection = serve(HOST, 'users/carol/statuses/1/ordered',
                       '@context' => 'https://www.w3.org/ns/activitystreams', 'type' => 'OrderedCollection',
                       'id' => origin_url(HOST, 'users/carol/statuses/1/ordered'),
                       'first' => { 'type' => 'OrderedCollectionPage', 'orderedItems' => [reply] })
    fetch_replies(PARENT, collection, { 'batch_id' => 'given' })
    start_queue_scotty('replies')
    wait_queue_idle('replies')
    assert_equal [[reply, { 'request_id' => nil, 'batch_id' => 'given' }]],
                 queued('pull', 'FetchReplyWorker').map { |j| j['args'] }, @scottys[0].log
    assert_equal '1', @redis.hget('worker_batch:given', 'pending')
  end

  def test_foreign_collection_and_missing_parent_are_no_ops
    setup_parent
    foreign = serve(OTHER, 'replies', '@context' => 'https://www.w3.org/ns/activitystreams',
                                      'type' => 'Collection', 'id' => origin_url(OTHER, 'replies'),
                                      'items' => [origin_url(OTHER, 'users/x/statuses/1')])
    fetch_replies(PARENT, foreign, {})
    fetch_replies(PARENT + 1, origin_url(HOST, 'users/carol/statuses/1/replies'), {})
    start_queue_scotty('replies')
    wait_queue_idle('replies')
    assert_empty queued('pull'), @scottys[0].log
    assert_empty origin_requests, 'a collection off the author\'s host is not even fetched'
    assert_empty retries
  end
end
