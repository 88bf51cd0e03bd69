# test_pull_thread.rb -- ThreadResolveWorker [child_status_id, parent_url, options]
# pushed with Mastodon's args: the parent fetched from the fixture origin (or found
# locally) and the child threaded as Status#set_conversation does, DistributionWorker
# [child, {"skip_notifications": true}] only inside the 6-hour window, children that
# already have a parent (or are gone) left alone, unknown parent authors forwarded.
require_relative 'pull_helper'

class TestPullThread < PullTest
  CAROL = 3
  CHILD = 113_700_000_000_000_001

  def resolve(child, parent_url, options = { 'request_id' => 'thread-1' })
    Sidekiq::Client.push('class' => 'ThreadResolveWorker', 'queue' => 'pull', 'retry' => 3,
                         'args' => [child, parent_url, options])
  end

  def thread_of(id)
    rows("SELECT coalesce(in_reply_to_id, 0), coalesce(in_reply_to_account_id, 0), reply, " \
         "coalesce(conversation_id, 0) FROM statuses WHERE id = #{id}").first
  end

  def test_parent_fetched_and_child_threaded_in_the_realtime_window
    start_fixture_origin
    add_origin_account(CAROL, 'carol', followed_by: ALICE)
    parent_url = serve_note(HOST, 'carol', 1, text: 'the parent')
    add_status(CHILD, uri: origin_url(HOST, 'users/carol/statuses/2'), account: CAROL)
    resolve(CHILD, parent_url)
    start_queue_scotty('pull')
    wait_queue_idle('pull')

    parent = status_id(parent_url)
    refute_nil parent, "the parent was fetched and stored\n#{@scottys[0].log}"
    parent_conversation = psql("SELECT coalesce(conversation_id, 0) FROM statuses WHERE id = #{parent}").strip
    assert_equal [parent.to_s, CAROL.to_s, 't', parent_conversation], thread_of(CHILD)
    assert_equal [[CHILD, { 'skip_notifications' => true }]],
                 queued('default', 'DistributionWorker').map { |j| j['args'] }
  end

  def test_known_parent_self_reply_outside_the_window
    add_remote(CAROL, 'carol', host: 'elsewhere.example')
    parent_url = 'https://elsewhere.example/users/carol/statuses/1'
    parent = add_status(113_700_000_000_000_000, uri: parent_url, account: CAROL, conversation: 7,
                                                 in_reply_to: nil)
    psql("UPDATE statuses SET reply = true, in_reply_to_account_id = #{ALICE} WHERE id = #{parent}")
    add_status(CHILD, uri: 'https://elsewhere.example/users/carol/statuses/2', account: CAROL,
                      created_at: "now() - interval '7 hours'", conversation: 9)
    resolve(CHILD, parent_url)
    start_queue_scotty('pull')
    wait_queue_idle('pull')
    assert_equal [parent.to_s, ALICE.to_s, 't', '9'], thread_of(CHILD),
                 "a self-reply carries the parent's addressee; the child's conversation stays\n#{@scottys[0].log}"
    assert_empty queued('default'), 'no distribution outside the 6-hour window'
  end

  def test_threaded_or_missing_children_are_left_alone
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    other = add_status(113_700_000_000_000_005, uri: origin_url(HOST, 'users/carol/statuses/5'), account: CAROL)
    add_status(CHILD, uri: origin_url(HOST, 'users/carol/statuses/2'), account: CAROL, in_reply_to: other)
    resolve(CHILD, serve_note(HOST, 'carol', 1, text: 'another parent'))
    resolve(CHILD + 1, origin_url(HOST, 'users/carol/statuses/3'))
    start_queue_scotty('pull')
    wait_queue_idle('pull')
    assert_equal other.to_s, thread_of(CHILD)[0], 'an existing parent is kept'
    assert_empty origin_requests, 'nothing fetched'
    assert_empty retries
    assert_empty queued('default')
  end

  # The parent's author answers 404: Mastodon's ThreadResolveWorker finds no parent and
  # ends; the child stays a reply to nothing known.
  def test_unresolvable_parent_author_leaves_the_child_alone
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    add_status(CHILD, uri: origin_url(HOST, 'users/carol/statuses/2'), account: CAROL)
    parent_url = serve_note(HOST, 'dave', 1, text: 'by someone new')
    resolve(CHILD, parent_url)
    start_queue_scotty('pull', '--forward-unhandled', 'ruby')
    wait_queue_idle('pull')
    assert_empty queued('ruby'), @scottys[0].log
    assert_equal 0, @redis.zcard('retry') + @redis.zcard('dead'), 'no retry: Mastodon raises nothing'
    assert_equal %w[0 0 f 0], thread_of(CHILD)
    assert_equal 1, count('statuses'), 'no parent stored'
  end
end
