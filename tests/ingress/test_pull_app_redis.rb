# test_pull_app_redis.rb -- the pull workers and Undo in Mastodon's split Redis set-up
# (Sidekiq on SIDEKIQ_REDIS_URL, the application on REDIS_URL): FetchReplyWorker jobs
# are pushed to Sidekiq's Redis while their WorkerBatch, the per-request discovery
# counter and delete_upon_arrival marks live in the application's.
require_relative 'pull_helper'

class TestPullAppRedis < PullTest
  CAROL = 3
  PARENT = 113_900_000_000_000_000

  def setup
    super
    @split_env = db_env.merge(start_app_redis)
  end

  def test_batches_and_counters_in_the_application_redis
    start_fixture_origin
    add_origin_account(CAROL, 'carol', followed_by: ALICE)
    add_status(PARENT, uri: origin_url(HOST, 'users/carol/statuses/1'), account: CAROL)
    reply = serve_note(HOST, 'carol', 2, text: 'a reply')
    collection = serve(HOST, 'users/carol/statuses/1/replies',
                       '@context' => 'https://www.w3.org/ns/activitystreams', 'type' => 'Collection',
                       'id' => origin_url(HOST, 'users/carol/statuses/1/replies'),
                       'first' => { 'type' => 'CollectionPage', 'items' => [reply] })
    Sidekiq::Client.push('class' => 'ActivityPub::FetchRepliesWorker', 'queue' => 'replies', 'retry' => 3,
                         'args' => [PARENT, collection, { 'request_id' => 'rq' }])
    start_scotty('-c', '2', '-q', 'replies', env: @split_env)
    wait_queue_idle('replies')

    jobs = queued('pull', 'FetchReplyWorker')
    assert_equal [reply], jobs.map { |j| j['args'][0] }, "pushed through Sidekiq's Redis\n#{@scottys[0].log}"
    batch = jobs[0]['args'][1]['batch_id']
    assert_equal [jobs[0]['jid']], @app.smembers("worker_batch:#{batch}:jobs")
    assert_empty @redis.keys('worker_batch:*'), 'no batch in the Sidekiq Redis'

    start_scotty('-c', '2', '-q', 'pull', env: @split_env)
    wait_queue_idle('pull')
    refute_nil status_id(reply), @scottys.last.log
    assert_equal 0, @app.exists("worker_batch:#{batch}", "worker_batch:#{batch}:jobs"), 'finished in the app Redis'
    assert_equal '1', @app.get('status_discovery_per_request:rq')
    assert_empty @redis.keys('status_discovery_per_request:*')
  end

  def test_undo_marks_in_the_application_redis
    start_scotty('-c', '2', '-q', 'ingress', env: @split_env)
    late = "#{BOB_URI}/statuses/5/activity"
    deliver_and_wait(JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams', 'id' => "#{late}/undo",
                                   'type' => 'Undo', 'actor' => BOB_URI,
                                   'object' => { 'id' => late, 'type' => 'Announce', 'actor' => BOB_URI,
                                                 'object' => ALICE_STATUS_URI }))
    assert_equal late, @app.get("delete_upon_arrival:#{BOB}:#{late}"), @scottys[0].log
    assert_empty @redis.keys('delete_upon_arrival:*')
  end
end
