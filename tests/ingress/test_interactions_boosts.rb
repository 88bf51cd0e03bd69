# test_interactions_boosts.rb -- Announce and Undo{Announce} through
# ActivityPub::ProcessingWorker jobs pushed as Mastodon's inbox controller pushes them:
# a boost of a local status (row, counters, notification and distribution jobs, one row
# however often it arrives), a boost of a remote status fetched from the fixture origin
# (signed as the instance actor when the origin demands it), spoofed and foreign
# objects refused with nothing written, unknown authors forwarded, the relevance gate,
# and Undo taking the boost back (and an Announce arriving after its Undo ignored).
require_relative 'pull_helper'

class TestInteractionsBoosts < PullTest
  CAROL = 3
  ANNOUNCE_URI = 'https://remote.example/users/bob/statuses/113500000000000009/activity'.freeze

  def announce(n, object, actor: BOB_URI, to: [PUBLIC], cc: [])
    JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams',
                  'id' => "#{actor}/statuses/#{n}/activity", 'type' => 'Announce', 'actor' => actor,
                  'published' => '2026-11-24T18:20:00Z', 'to' => to, 'cc' => cc, 'object' => object)
  end

  def reblogs(of)
    rows("SELECT id, account_id, uri, visibility, coalesce(conversation_id, 0), local, " \
         "to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM statuses WHERE reblog_of_id = #{of}")
  end

  def test_boost_of_a_local_status_once_with_counters_and_jobs
    original = add_alice_status
    start_ingress_scotty
    2.times { deliver_and_wait(fixture('announce')) }

    boosts = reblogs(original)
    assert_equal 1, boosts.size, "the same Announce twice is one boost\n#{@scottys[0].log}"
    id, account, uri, visibility, conversation, local, created = boosts[0]
    assert_equal [BOB.to_s, ANNOUNCE_URI, '0', 'f', '2026-11-24T18:20:00'],
                 [account, uri, visibility, local, created], 'booster, activity id, public, published'
    refute_equal '0', conversation, 'a boost owns a conversation, as Status#set_conversation builds'
    assert_equal id, psql("SELECT parent_status_id FROM conversations WHERE id = #{conversation}").strip
    assert_equal 1, stat(original, 'reblogs_count')
    assert_equal '1', psql("SELECT statuses_count FROM account_stats WHERE account_id = #{BOB}").strip
    notes = queued('default', 'LocalNotificationWorker').map { |j| j['args'] }
    assert_equal [[ALICE, id.to_i, 'Status', 'reblog']], notes, 'alice is notified once'
    assert_equal [[id.to_i]], queued('default', 'DistributionWorker').map { |j| j['args'] }
    # the announce lock went with each job's outcome
    assert_empty @redis.keys('lock:*')
    assert_empty @redis.keys('scotty:locks:*').flat_map { |k| @redis.hkeys(k) }
  end

  def test_boost_visibility_from_its_audience
    audiences = [[[PUBLIC], []], [[], ['as:Public']], [["#{BOB_URI}/followers"], []], [[], []]]
    originals = audiences.each_index.map do |i|
      uri = "https://scotty.test/users/alice/statuses/11340000000000000#{i + 1}"
      add_status(113_400_000_000_000_010 + i, uri: uri, account: ALICE, local: true)
    end
    start_ingress_scotty
    audiences.each_with_index do |(to, cc), i|
      deliver_and_wait(announce(80 + i, "https://scotty.test/users/alice/statuses/11340000000000000#{i + 1}",
                                to: to, cc: cc))
    end
    assert_equal %w[0 1 2 3], originals.map { |o| reblogs(o).dig(0, 3) },
                 "public, unlisted, private, direct\n#{@scottys[0].log}"
    assert_equal '3', psql("SELECT statuses_count FROM account_stats WHERE account_id = #{BOB}").strip,
                 'a direct boost is not counted'
  end

  def test_announce_lock_held_by_ruby_makes_the_job_retry
    original = add_alice_status
    # a Ruby worker inside with_redis_lock("announce:<object>") (mario-redis-lock's key)
    @redis.set("lock:announce:#{ALICE_STATUS_URI}", 'ruby-holder', px: 60_000)
    start_ingress_scotty
    jid = deliver_and_wait(fixture('announce'))
    assert_empty reblogs(original), 'nothing written while Ruby holds the lock'
    failed = retries.find { |j| j['jid'] == jid }
    refute_nil failed, "retried later, as Mastodon's RaceConditionError is\n#{@scottys[0].log}"
    assert_match(/Could not acquire lock for announce:/, failed['error_message'])
    assert_equal 'ruby-holder', @redis.get("lock:announce:#{ALICE_STATUS_URI}"), 'Ruby\'s lock untouched'
  end

  def test_undo_takes_the_boost_back_and_a_late_announce_is_ignored
    original = add_alice_status
    start_ingress_scotty
    deliver_and_wait(fixture('announce'))
    boost = reblogs(original)[0][0]
    # alice follows bob: FeedInsertWorker put the boost in her home feed, and she is streaming
    @redis.zadd("feed:home:#{ALICE}", boost.to_i, boost)
    events = Queue.new
    listener = Thread.new do
      sub = @redis_server.client
      sub.subscribe("timeline:#{ALICE}") { |on| on.message { |_ch, m| events << m && sub.unsubscribe } }
      sub.close
    end
    wait_until(10, 'the stream listener') { @redis.pubsub('numsub', "timeline:#{ALICE}")[1].to_i == 1 }
    deliver_and_wait(fixture('undo_announce'))
    assert_empty reblogs(original), "the boost is gone\n#{@scottys[0].log}"
    assert_empty @redis.zrange("feed:home:#{ALICE}", 0, -1), 'unpushed from the follower\'s home feed'
    assert_equal({ 'event' => 'delete', 'payload' => boost }, JSON.parse(Timeout.timeout(10) { events.pop }))
    listener.join
    assert_equal 0, stat(original, 'reblogs_count')
    assert_equal '0', psql("SELECT statuses_count FROM account_stats WHERE account_id = #{BOB}").strip

    # an Undo of a boost that never arrived marks it; the boost arriving late is ignored
    late = "#{BOB_URI}/statuses/77/activity"
    undo = fixture_with('undo_announce') do |d|
      d['id'] = "#{late}/undo"
      d['object']['id'] = late
    end
    deliver_and_wait(undo)
    assert_equal late, @redis.get("delete_upon_arrival:#{BOB}:#{late}")
    assert_operator @redis.ttl("delete_upon_arrival:#{BOB}:#{late}"), :>, 5 * 3600
    deliver_and_wait(announce(77, ALICE_STATUS_URI))
    assert_empty reblogs(original), 'an Announce undone before it arrived is dropped'
  end

  def test_boost_of_a_remote_status_fetched_from_its_origin
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    note = serve_note(HOST, 'carol', 1, text: 'fetched for a boost')
    start_ingress_scotty
    deliver_and_wait(announce(10, note, cc: ["#{BOB_URI}/followers"]))

    fetched = status_id(note)
    refute_nil fetched, "the boosted note was fetched and stored\n#{@scottys[0].log}"
    assert_equal ["#{CAROL}", '<p>fetched for a boost</p>'],
                 rows("SELECT account_id, text FROM statuses WHERE id = #{fetched}").first
    assert_equal 1, reblogs(fetched).size
    assert_equal 1, stat(fetched, 'reblogs_count')
    assert_empty queued('default', 'LocalNotificationWorker'), 'no notification for a remote original'
    get = origin_requests.find { |r| r['path'] == URI(note).path }
    assert_equal %w[GET 127.0.0.2], [get['method'], get['host']]
  end

  def test_embedded_objects_trusted_only_for_self_boosts
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    note = serve_note(HOST, 'carol', 7, text: 'genuine')
    forged = { 'id' => note, 'type' => 'Note', 'attributedTo' => origin_url(HOST, 'users/carol'),
               'content' => '<p>forged</p>', 'to' => [PUBLIC] }
    own = { 'id' => "#{BOB_URI}/statuses/8", 'type' => 'Note', 'attributedTo' => BOB_URI,
            'content' => '<p>my own</p>', 'to' => [PUBLIC], 'cc' => ["#{BOB_URI}/followers"] }
    start_ingress_scotty
    deliver_and_wait(announce(70, forged))
    deliver_and_wait(announce(71, own))

    assert_equal '<p>genuine</p>', psql("SELECT text FROM statuses WHERE uri = #{q(note)}").strip,
                 "another account's embedded object is fetched from its origin, not trusted\n#{@scottys[0].log}"
    assert_equal 1, reblogs(status_id(note)).size
    own_id = status_id(own['id'])
    refute_nil own_id, 'a self-boost\'s embedded object is stored as a Create would store it'
    assert_equal [BOB.to_s, '<p>my own</p>'], rows("SELECT account_id, text FROM statuses WHERE id = #{own_id}").first
    assert_equal 1, reblogs(own_id).size
    assert_equal [URI(note).path], origin_requests.map { |r| r['path'] }, 'only the foreign object was fetched'
  end

  def test_spoofed_or_foreign_objects_write_nothing
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    add_origin_account(4, 'carol', host: OTHER)
    # served by HOST but attributed to an actor on OTHER: the origin check refuses it
    spoofed = serve_note(HOST, 'carol', 2, text: 'spoofed', attributed_to: origin_url(OTHER, 'users/carol'))
    # the document's id is not the URI it was fetched from
    renamed = serve_note(HOST, 'carol', 3, text: 'renamed', id: origin_url(HOST, 'users/carol/statuses/99'))
    gone = origin_url(HOST, 'users/carol/statuses/404')
    start_ingress_scotty
    [spoofed, renamed, gone].each_with_index { |o, i| deliver_and_wait(announce(20 + i, o)) }

    assert_equal 0, count('statuses'), "nothing written\n#{@scottys[0].log}"
    assert_equal 0, count('status_stats')
    assert_empty queued('default')
    assert_empty retries, 'refusals are not retried'
    log = @scottys[0].log
    assert_match(/not to an actor on its own host/, log)
    assert_match(/whose id is "#{Regexp.escape(origin_url(HOST, 'users/carol/statuses/99'))}"/, log)
  end

  def test_boost_by_an_unfollowed_account_of_a_remote_status_is_dropped
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    add_remote(5, 'eve')
    note = serve_note(HOST, 'carol', 4, text: 'nobody follows eve')
    start_ingress_scotty
    deliver_and_wait(announce(30, note, actor: 'https://remote.example/users/eve'), actor: 5)
    assert_equal 0, count('statuses'), "not related to local activity\n#{@scottys[0].log}"
    assert_empty origin_requests, 'nothing fetched for an irrelevant boost'
  end

  def test_boost_of_an_unknown_local_status_is_not_fetched
    start_ingress_scotty
    deliver_and_wait(announce(35, 'https://scotty.test/users/alice/statuses/999'))
    assert_equal 0, count('statuses')
    assert_match(%r{statuses/999 is on this server: nothing to fetch}, @scottys[0].log)
    assert_empty retries
  end

  def test_relay_announce_brings_the_status_in_without_a_boost
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    add_remote(6, 'relay', host: 'relay.example')
    relay_inbox = 'https://relay.example/users/relay/inbox'
    note = serve_note(HOST, 'carol', 9, text: 'relayed')
    idle = serve_note(HOST, 'carol', 10, text: 'relay not accepted yet')
    psql("INSERT INTO relays (inbox_url, state, created_at, updated_at) VALUES (#{q(relay_inbox)}, 2, now(), now())")
    start_ingress_scotty
    deliver_and_wait(announce(90, note, actor: 'https://relay.example/users/relay'), actor: 6)
    fetched = status_id(note)
    refute_nil fetched, "an accepted relay's Announce fetches the status\n#{@scottys[0].log}"
    assert_empty reblogs(fetched), 'but a relay does not boost'

    psql("UPDATE relays SET state = 0")
    deliver_and_wait(announce(91, idle, actor: 'https://relay.example/users/relay'), actor: 6)
    assert_nil status_id(idle), 'an idle relay is nobody this server follows'
  end

  # An author scotty cannot resolve (its actor answers 404): Mastodon's
  # FetchRemoteStatusService returns nil and the Announce stores nothing, without an
  # error. A resolvable unknown author is test_accounts' case.
  def test_boost_of_a_status_by_an_unresolvable_author_stores_nothing
    start_fixture_origin
    note = serve_note(HOST, 'dave', 1, text: 'dave is new here')
    start_ingress_scotty('--forward-unhandled', 'ruby')
    body = announce(40, note)
    deliver_and_wait(body)
    assert_empty queued('ruby'), "not forwarded: Mastodon drops it too\n#{@scottys[0].log}"
    assert_equal 0, count('statuses'), 'nothing half-done'
    assert_equal 0, @redis.zcard('retry') + @redis.zcard('dead'), 'no retry: Mastodon raises nothing'
    assert_match(%r{users/dave}, @scottys[0].log, 'the log names the actor it could not resolve')

    # a known author, but a poll only Ruby reads (its PollParser raises on a string
    # oneOf): the whole job goes to Ruby
    add_origin_account(CAROL, 'carol')
    odd = serve(HOST, 'users/carol/statuses/odd', '@context' => 'https://www.w3.org/ns/activitystreams',
                'id' => origin_url(HOST, 'users/carol/statuses/odd'), 'type' => 'Question',
                'attributedTo' => origin_url(HOST, 'users/carol'), 'content' => '<p>tea?</p>',
                'oneOf' => 'yes', 'to' => [PUBLIC])
    jid = deliver_and_wait(announce(41, odd))
    assert_equal [jid], queued('ruby').map { |j| j['jid'] }, @scottys[0].log
    assert_equal 0, count('statuses')

    # a poll scotty reads is stored with its polls row, and boosted
    poll = serve(HOST, 'users/carol/statuses/poll', '@context' => 'https://www.w3.org/ns/activitystreams',
                 'id' => origin_url(HOST, 'users/carol/statuses/poll'), 'type' => 'Question',
                 'attributedTo' => origin_url(HOST, 'users/carol'), 'content' => '<p>tea?</p>',
                 'oneOf' => [{ 'type' => 'Note', 'name' => 'yes' }], 'to' => [PUBLIC])
    deliver_and_wait(announce(42, poll))
    refute_nil status_id(poll), @scottys[0].log
    assert_equal [['{yes}', CAROL.to_s]],
                 rows("SELECT p.options, p.account_id FROM polls p JOIN statuses s ON s.poll_id = p.id " \
                      "WHERE s.uri = #{q(poll)}")
    assert_equal 1, queued('ruby').size
  end

  def test_authorized_fetch_signs_as_the_instance_actor
    keys = add_instance_actor
    start_fixture_origin(keys: keys)
    add_origin_account(CAROL, 'carol')
    note = serve_note(HOST, 'carol', 5, text: 'members only')
    start_ingress_scotty
    deliver_and_wait(announce(50, note))
    refute_nil status_id(note), "fetched with a signature the origin accepts\n#{@scottys[0].log}"
    get = origin_requests.find { |r| r['path'] == URI(note).path }
    assert_equal [true, 200], [get['signed'], get['status']]
  end

  def test_authorized_fetch_without_an_instance_key_stores_nothing
    start_fixture_origin(keys: add_instance_actor)
    psql('DELETE FROM accounts WHERE id = -99')
    add_origin_account(CAROL, 'carol')
    note = serve_note(HOST, 'carol', 6, text: 'members only')
    start_ingress_scotty
    deliver_and_wait(announce(60, note))
    assert_nil status_id(note)
    get = origin_requests.find { |r| r['path'] == URI(note).path }
    assert_equal [false, 401], [get['signed'], get['status']], 'an unsigned fetch is refused'
    assert_empty retries, 'a 401 is not retried'
  end
end
