# test_ingress_hostile.rb -- what ActivityPub::ProcessingWorker refuses or drops, with
# nothing written and the reason in scotty's log: hostile payloads, bad job args,
# unknown and suspended actors, posts nobody here asked for; and the create:<uri>
# lock shared with Ruby workers.
require_relative 'ingress_helper'
require_relative '../lib/fediverse'

class IngressHostileTest < IngressTest
  REFUSED = %w[hostile_actor_mismatch hostile_attributed_mismatch hostile_deep_nesting
               hostile_mentions_10000 hostile_no_context hostile_nul hostile_oversized hostile_spoofed_origin
               hostile_wrong_types_refused].freeze

  def assert_nothing_written
    %w[statuses media_attachments mentions tags conversations status_stats account_stats tombstones].each do |t|
      assert_equal 0, count(t), "rows in #{t}: #{psql("SELECT * FROM #{t}")}\n#{@scotty.log[-3000..]}"
    end
  end

  def test_hostile_payloads_are_refused_with_the_reason_logged
    @scotty = start_ingress_scotty
    jids = REFUSED.to_h { |name| [name, deliver(fixture(name))] }
    wait_idle
    assert_nothing_written
    assert_empty retries, 'a refused activity is not retried'
    jids.each do |name, jid|
      line = @scotty.log.lines.find { |l| l.include?("jid=#{jid}") && l.include?('activity refused: ') }
      refute_nil line, "no refusal logged for #{name}:\n#{@scotty.log}"
      assert_match(/WARN/, line)
    end
    assert_equal REFUSED.size, activity_stats.dig('Invalid', 'dropped')
  end

  # Dangerous URLs are left out, the rest of the post is kept (as Mastodon does).
  def test_bad_url_schemes_are_left_out
    @scotty = start_ingress_scotty
    deliver_and_wait(fixture('hostile_bad_schemes'))
    uri = 'https://remote.example/users/bob/statuses/113500000000000100'
    row = status_row(uri)
    refute_nil row, @scotty.log
    assert_equal uri, row[11], 'url falls back to the uri'
    assert_equal [['https://remote.example/media/ok.png']], rows('SELECT remote_url FROM media_attachments')
    assert_equal [[ALICE.to_s]], rows('SELECT account_id FROM mentions')
    refute_match(/javascript:|file:/, psql('SELECT * FROM statuses') + psql('SELECT * FROM media_attachments'))
    assert_empty queued('pull', 'MentionResolveWorker') + scheduled('MentionResolveWorker')
    assert_empty queued('pull', 'ThreadResolveWorker')
  end

  def test_wrong_argument_types_fail_with_argument_error
    @scotty = start_ingress_scotty
    Sidekiq::Client.push('class' => 'ActivityPub::ProcessingWorker', 'queue' => 'ingress', 'retry' => 8,
                         'backtrace' => true, 'args' => [BOB.to_s, fixture('create_note_mastodon'), nil, 'Account'])
    Sidekiq::Client.push('class' => 'ActivityPub::ProcessingWorker', 'queue' => 'ingress', 'retry' => 8,
                         'backtrace' => true, 'args' => [BOB, { 'type' => 'Create' }, nil, 'Account'])
    wait_idle
    wait_until(10, 'two retries') { retries.size == 2 }
    retries.each do |job|
      assert_equal 'ArgumentError', job['error_class']
      assert_match(/expects \[actor_id \(Integer\), body \(String\)/, job['error_message'])
      assert job['error_backtrace'], 'backtrace: true keeps a backtrace'
    end
    assert_nothing_written
  end

  def test_unknown_actor_and_other_actor_types_do_nothing
    @scotty = start_ingress_scotty
    deliver(fixture('create_note_mastodon'), actor: 999)
    deliver(fixture('create_note_mastodon'), actor_type: 'Tombstone')
    wait_idle
    assert_nothing_written
    assert_empty retries
    assert_match(/account 999 does not exist; nothing to do/, @scotty.log)
    assert_match(/actor type Tombstone is not Account; nothing to do/, @scotty.log)
  end

  def test_activities_of_local_actors_are_dropped
    @scotty = start_ingress_scotty
    scheme = psql("SELECT to_jsonb(a)->>'id_scheme' FROM accounts a WHERE id = #{ALICE}").strip
    actor = scheme == '1' ? "https://#{LOCAL_DOMAIN}/ap/users/#{ALICE}" : "https://#{LOCAL_DOMAIN}/users/alice"
    note = "#{actor}/statuses/1"
    deliver_and_wait(JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams', 'id' => "#{note}/activity",
                                   'type' => 'Create', 'actor' => actor, 'to' => [Fediverse::PUBLIC],
                                   'object' => { 'id' => note, 'type' => 'Note', 'attributedTo' => actor,
                                                 'content' => '<p>hi</p>', 'to' => [Fediverse::PUBLIC] }),
                     actor: ALICE)
    assert_nothing_written
    assert_match(/activity from local account #{ALICE} dropped/, @scotty.log)
  end

  def test_suspended_actor_is_dropped_but_its_delete_is_not
    @scotty = start_ingress_scotty
    add_alice_status
    deliver_and_wait(fixture('create_note_mastodon'))
    assert_equal 1, count('statuses', "uri = #{q(NOTE_URI)}")
    psql("UPDATE accounts SET suspended_at = now() WHERE id = #{BOB}")
    deliver_and_wait(fixture_with('create_note_mastodon') do |d|
      d['object']['id'] = "#{NOTE_URI}9"
    end)
    assert_equal 0, count('statuses', "uri = #{q("#{NOTE_URI}9")}")
    assert_match(/Create from suspended account #{BOB_URI} dropped/, @scotty.log)
    deliver_and_wait(fixture('delete_string'))
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}"), @scotty.log
  end

  # A public post by someone nobody here follows, addressing nobody here.
  def stranger_note(id: 7)
    add_remote(id, 'stranger')
    fixture_with('create_note_mastodon') do |d|
      d['actor'] = 'https://remote.example/users/stranger'
      o = d['object']
      o['id'] = 'https://remote.example/users/stranger/statuses/1'
      o['attributedTo'] = d['actor']
      o['url'] = o['id']
      o['cc'] = d['cc'] = ['https://remote.example/users/stranger/followers']
      %w[inReplyTo inReplyToAtomUri tag attachment replies].each { |k| o.delete(k) }
    end
  end

  # An attachment naming the cloud metadata service or a private network by address is
  # an SSRF probe: the whole post is dropped before anything is written or fetched.
  def test_attachments_pointing_at_blocked_addresses_drop_the_post
    @scotty = start_ingress_scotty
    probes = { 'http://169.254.169.254/latest/meta-data/iam' => /link-local/,
               'http://10.1.2.3/x.jpg' => /private/, 'http://[::1]/x.png' => /loopback/ }
    probes.each do |url, why|
      body = fixture_with('create_note_mastodon') { |doc| doc['object']['attachment'][1]['url'] = url }
      deliver_and_wait(body)
      assert_nothing_written
      line = @scotty.log.lines.find { |l| l.include?("attachment #{url} points at a blocked address") }
      refute_nil line, @scotty.log
      assert_match(why, line)
    end
    assert_equal probes.size, activity_stats.dig('Create', 'dropped')
  end

  def test_post_nobody_here_asked_for_is_dropped
    @scotty = start_ingress_scotty
    deliver_and_wait(stranger_note, actor: 7)
    assert_nothing_written
    assert_match(/dropped: not relevant here/, @scotty.log)
    assert_equal 1, activity_stats.dig('Create', 'dropped')
  end

  def test_reply_to_a_local_status_is_relevant
    @scotty = start_ingress_scotty
    parent = add_alice_status
    body = fixture_with('create_note_mastodon') do |d|
      d['actor'] = 'https://remote.example/users/stranger'
      o = d['object']
      o['id'] = 'https://remote.example/users/stranger/statuses/2'
      o['attributedTo'] = d['actor']
      o['cc'] = d['cc'] = ['https://remote.example/users/stranger/followers']
      %w[tag attachment replies].each { |k| o.delete(k) }
    end
    add_remote(7, 'stranger')
    deliver_and_wait(body, actor: 7)
    row = status_row('https://remote.example/users/stranger/statuses/2')
    refute_nil row, @scotty.log
    assert_equal [parent.to_s, ALICE.to_s], [row[8], row[9]]
  end

  def test_personal_inbox_delivery_is_relevant_with_a_silent_mention
    @scotty = start_ingress_scotty
    deliver_and_wait(stranger_note, actor: 7, delivered_to: ALICE)
    row = status_row('https://remote.example/users/stranger/statuses/1')
    refute_nil row, @scotty.log
    assert_equal [[ALICE.to_s, 't']], rows("SELECT account_id, silent FROM mentions WHERE status_id = #{row[0]}")
  end

  def test_direct_message_with_a_silent_mention_is_limited
    @scotty = start_ingress_scotty
    add_remote(8, 'carol', followed_by: nil)
    body = fixture_with('create_note_mastodon') do |d|
      o = d['object']
      d['to'] = o['to'] = ['https://scotty.test/users/alice', 'https://remote.example/users/carol']
      d['cc'] = o['cc'] = []
      o['tag'] = [{ 'type' => 'Mention', 'href' => 'https://remote.example/users/carol' }]
      %w[inReplyTo inReplyToAtomUri attachment replies].each { |k| o.delete(k) }
    end
    deliver_and_wait(body)
    row = status_row
    refute_nil row, @scotty.log
    assert_equal '4', row[4], 'direct with a silent mention (alice) is limited'
    assert_equal [[ALICE.to_s, 't'], ['8', 'f']],
                 rows("SELECT account_id, silent FROM mentions WHERE status_id = #{row[0]} ORDER BY account_id")
    assert_equal [], rows("SELECT 1 FROM account_stats WHERE account_id = #{BOB} AND statuses_count > 1")
  end

  def test_direct_message_marked_as_such_stays_direct
    @scotty = start_ingress_scotty
    body = fixture_with('create_note_mastodon') do |d|
      o = d['object']
      d['to'] = o['to'] = ['https://scotty.test/users/alice']
      d['cc'] = o['cc'] = []
      o['directMessage'] = true
      %w[tag inReplyTo inReplyToAtomUri attachment replies].each { |k| o.delete(k) }
    end
    deliver_and_wait(body)
    row = status_row
    refute_nil row, @scotty.log
    assert_equal '3', row[4]
    assert_equal [[ALICE.to_s, 't']], rows("SELECT account_id, silent FROM mentions WHERE status_id = #{row[0]}")
    assert_equal 0, count('account_stats', "account_id = #{BOB} AND statuses_count > 0"), 'direct is not counted'
  end

  def test_ruby_holding_the_create_lock_makes_scotty_retry
    add_alice_status
    # What mario-redis-lock does for a Ruby worker inside with_redis_lock("create:<uri>").
    assert @redis.set("lock:create:#{NOTE_URI}", "#{Time.now}-123456", nx: true, px: 900_000)
    @scotty = start_ingress_scotty
    jid = deliver(fixture('create_note_mastodon'))
    wait_until(30, 'the retry') { retries.size == 1 }
    job = retries.first
    assert_equal jid, job['jid']
    assert_equal 'Mastodon::RaceConditionError', job['error_class']
    assert_match(/Could not acquire lock for create:#{Regexp.escape(NOTE_URI)}/, job['error_message'])
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}")
    assert_equal "#{Time.now.to_s[0, 4]}", @redis.get("lock:create:#{NOTE_URI}")[0, 4], 'Ruby still holds it'
    # once Ruby releases it, the retried job goes through
    @redis.del("lock:create:#{NOTE_URI}")
    @redis.zrem('retry', @redis.zrange('retry', 0, -1).first)
    deliver_and_wait(fixture('create_note_mastodon'))
    assert_equal 1, count('statuses', "uri = #{q(NOTE_URI)}"), @scotty.log
    assert_nil @redis.get("lock:create:#{NOTE_URI}"), 'scotty released its lock'
  end
end
