# test_ingress_forward.rb -- activities scotty does not cover: forwarded unchanged to
# --forward-unhandled's queue (byte for byte but enqueued_at), or failed the Sidekiq
# way without it; nothing written either way; the per-type stats and metrics. Relayed
# activities (actor not the signer) vouched for by an LD signature or a proof are
# among them; without either they are dropped.
require 'open3'
require_relative 'ingress_helper'

class IngressForwardTest < IngressTest
  # The raw job as Sidekiq stored it in queue:ingress (pushed while no scotty runs).
  def push_raw(body)
    deliver(body)
    raw = @redis.lrange('queue:ingress', 0, -1)
    assert_equal 1, raw.size
    raw.first
  end

  def test_unhandled_types_are_forwarded_unchanged
    pushed = [push_raw(fixture('follow'))]
    @redis.del('queue:ingress')
    # a poll whose PollParser raises in Ruby (a string oneOf)
    pushed << push_raw(fixture_with('create_question') { |d| d['object']['oneOf'] = 'Tea' })
    @redis.del('queue:ingress')
    pushed << push_raw(fixture_with('delete_string') { |d| d['object'] = BOB_URI })
    @redis.del('queue:ingress')
    pushed.each { |raw| @redis.lpush('queue:ingress', raw) }
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    wait_idle
    forwarded = @redis.lrange('queue:ruby_ingress', 0, -1)
    assert_equal 3, forwarded.size, scotty.log
    assert_includes @redis.smembers('queues'), 'ruby_ingress'
    # the same bytes apart from enqueued_at, which Sidekiq's push refreshes
    strip = ->(raw) { raw.sub(/"enqueued_at":[0-9.e+]+/, '"enqueued_at":X') }
    assert_equal pushed.map(&strip).sort, forwarded.map(&strip).sort
    forwarded.each { |raw| assert_match(/"enqueued_at":[0-9.e+]+/, raw) }
    assert_equal 0, count('statuses')
    assert_equal 0, count('tombstones')
    assert_empty retries
    stats = activity_stats
    assert_equal 1, stats.dig('Follow', 'forwarded')
    assert_equal 1, stats.dig('Create', 'forwarded')
    assert_equal 1, stats.dig('Delete', 'forwarded')
    metrics = control('metrics')['text']
    assert_includes metrics, 'scotty_activities_total{type="Follow",outcome="forwarded"} 1'
    scottyctl = File.join(File.dirname(ENV.fetch('SCOTTY_BIN')), 'control', 'scottyctl')
    table, st = Open3.capture2(scottyctl, '-s', @control, 'stats')
    assert st.success?, table
    assert_match(/^ACTIVITY\s+HANDLED\s+FORWARDED\s+DROPPED\s+FAILED$/, table)
    assert_match(/^Follow\s+0\s+1\s+0\s+0$/, table)
    assert_match(/forwarded unchanged to queue ruby_ingress/, scotty.log)
  end

  def test_unhandled_without_forward_queue_fails_the_sidekiq_way
    scotty = start_ingress_scotty
    jid = deliver_and_wait(fixture('follow'))
    wait_until(10, 'the retry') { retries.size == 1 }
    job = retries.first
    assert_equal jid, job['jid']
    assert_equal 'NotImplementedError', job['error_class']
    assert_match(/scotty does not handle activities of this type \(Follow\); run it with --forward-unhandled QUEUE/,
                 job['error_message'])
    assert_equal 0, job['retry_count']
    assert_equal 1, activity_stats.dig('Follow', 'failed')
    assert_empty @redis.keys('queue:ruby*'), scotty.log
  end

  # ActivityPub::Forwarder would send a signed Delete of a reply to a local status to
  # the local author's followers: left to Ruby, the status untouched.
  def test_signed_delete_mastodon_would_forward_is_left_to_ruby
    add_alice_status
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(fixture('create_note_mastodon'))
    assert_equal 1, count('statuses', "uri = #{q(NOTE_URI)}"), scotty.log
    deliver_and_wait(fixture_with('delete_tombstone') { |d| d['signature'] = { 'type' => 'RsaSignature2017' } })
    assert_equal 1, count('statuses', "uri = #{q(NOTE_URI)}")
    assert_equal 0, count('tombstones')
    assert_equal 0, @redis.exists("delete_upon_arrival:#{BOB}:#{NOTE_URI}")
    assert_equal 1, @redis.llen('queue:ruby_ingress')
    assert_match(/a signed Delete Mastodon forwards to local followers/, scotty.log)
    # unsigned, scotty deletes it itself
    deliver_and_wait(fixture('delete_tombstone'))
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}")
  end

  CAROL = 'https://other.example/users/carol'.freeze

  # carol's reply to bob's post, forwarded to bob's followers by bob's server: signed
  # over HTTP by bob, its actor carol; the block adds what vouches for carol.
  def relayed_reply
    fixture_with('create_note_mastodon') do |d|
      d['id'] = "#{CAROL}/statuses/1/activity"
      d['actor'] = CAROL
      o = d['object']
      o.merge!('id' => "#{CAROL}/statuses/1", 'url' => 'https://other.example/@carol/1', 'attributedTo' => CAROL,
               'atomUri' => "#{CAROL}/statuses/1", 'inReplyTo' => NOTE_URI, 'inReplyToAtomUri' => NOTE_URI)
      o.delete('attachment')
      yield d
    end
  end

  def test_relayed_reply_with_ld_signature_or_proof_is_forwarded_unchanged
    signed = relayed_reply do |d|
      d['signature'] = { 'type' => 'RsaSignature2017', 'creator' => "#{CAROL}#main-key",
                         'created' => '2026-11-24T18:00:01Z', 'signatureValue' => 'c2lnbmVk' }
    end
    proved = relayed_reply do |d|
      d['proof'] = { 'type' => 'DataIntegrityProof', 'cryptosuite' => 'eddsa-jcs-2022',
                     'verificationMethod' => "#{CAROL}#ed25519-key", 'proofPurpose' => 'assertionMethod',
                     'proofValue' => 'z3sXaxjKs' }
    end
    bare = relayed_reply { |_| nil }
    pushed = [signed, proved].map do |body|
      raw = push_raw(body)
      @redis.del('queue:ingress')
      raw
    end
    pushed.each { |raw| @redis.lpush('queue:ingress', raw) }
    bare_jid = deliver(bare)
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    wait_idle
    forwarded = @redis.lrange('queue:ruby_ingress', 0, -1)
    strip = ->(raw) { raw.sub(/"enqueued_at":[0-9.e+]+/, '"enqueued_at":X') }
    assert_equal pushed.map(&strip).sort, forwarded.map(&strip).sort, scotty.log
    assert_equal 0, count('statuses')
    assert_empty retries
    assert_equal 2, activity_stats.dig('Create', 'forwarded')
    assert_equal 1, activity_stats.dig('Invalid', 'dropped')
    line = scotty.log.lines.find { |l| l.include?("jid=#{bare_jid}") }
    assert_match(/activity refused: actor #{Regexp.escape(CAROL)} is not the signer/, line, scotty.log)
    assert_match(/forwarded unchanged to queue ruby_ingress/, scotty.log)
  end

  def test_relayed_reply_without_forward_queue_fails_the_sidekiq_way
    scotty = start_ingress_scotty
    jid = deliver_and_wait(relayed_reply do |d|
      d['proof'] = { 'type' => 'DataIntegrityProof', 'cryptosuite' => 'eddsa-jcs-2022', 'proofValue' => 'z3sXaxjKs',
                     'verificationMethod' => "#{CAROL}#ed25519-key", 'proofPurpose' => 'assertionMethod' }
    end)
    wait_until(10, 'the retry') { retries.size == 1 }
    job = retries.first
    assert_equal jid, job['jid']
    assert_equal 'NotImplementedError', job['error_class'], scotty.log
    assert_match(/scotty does not handle Create relayed for #{Regexp.escape(CAROL)}: its proof's key .* is not stored here/,
                 job['error_message'])
    assert_equal 0, count('statuses')
  end

  # Mastodon 4.6 keeps a status's FeaturedCollection tags (with an id) in tagged_objects,
  # which scotty does not write: such a Create or Update is forwarded whole, never stored
  # without them. A FeaturedCollection tag without an id is skipped by Mastodon too.
  def test_status_tagging_a_featured_collection_is_forwarded_whole
    add_alice_status
    collection = { 'type' => 'FeaturedCollection', 'id' => "#{BOB_URI}/collections/1" }
    tagged = fixture_with('create_note_mastodon') { |d| d['object']['tag'] = Array(d['object']['tag']) + [collection] }
    untagged = fixture_with('create_note_mastodon') do |d|
      d['id'] += '-2'
      d['object']['id'] += '-2'
      d['object']['tag'] = [{ 'type' => %w[FeaturedCollection], 'name' => 'no id' }]
    end
    update = fixture_with('create_note_mastodon') do |d|
      d['type'] = 'Update'
      d['object']['tag'] = { 'type' => %w[Object FeaturedCollection], 'id' => "#{BOB_URI}/collections/2" }
    end
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    [tagged, untagged, update].each { |body| deliver(body) }
    wait_idle
    forwarded = @redis.lrange('queue:ruby_ingress', 0, -1).map { |raw| JSON.parse(JSON.parse(raw)['args'][1]) }
    assert_equal %w[Create Update], forwarded.map { |d| d['type'] }.sort, scotty.log
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}"), 'the tagged Create is not stored'
    assert_equal 1, count('statuses', "uri = #{q("#{NOTE_URI}-2")}"), 'a tag without an id is skipped, as Mastodon does'
    assert_match(/status tagging a FeaturedCollection/, scotty.log)
  end

  # An Update that drops the collection tags of a status Ruby stored with them: Mastodon's
  # update_tagged_objects! deletes its tagged_objects rows, so the Update is Ruby's too.
  def test_update_of_a_status_with_tagged_objects_is_forwarded
    add_alice_status
    psql('CREATE TABLE IF NOT EXISTS tagged_objects (id bigserial PRIMARY KEY, ap_type varchar NOT NULL, ' \
         'object_id bigint, object_type varchar, status_id bigint NOT NULL, uri varchar, ' \
         'created_at timestamp NOT NULL, updated_at timestamp NOT NULL)')
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(fixture('create_note_mastodon'))
    id = rows("SELECT id FROM statuses WHERE uri = #{q(NOTE_URI)}").flatten.first
    psql("INSERT INTO tagged_objects (ap_type, status_id, uri, created_at, updated_at) VALUES " \
         "('FeaturedCollection', #{id}, #{q("#{BOB_URI}/collections/1")}, now(), now())")
    update = fixture_with('create_note_mastodon') do |d|
      d['type'] = 'Update'
      d['object']['content'] = '<p>edited, no collection any more</p>'
      d['object']['updated'] = '2026-12-01T12:00:00Z'
    end
    deliver_and_wait(update)
    assert_equal 1, @redis.llen('queue:ruby_ingress'), scotty.log
    assert_match(/Update of a status with tagged collections/, scotty.log)
    refute_match(/edited, no collection/, rows("SELECT text FROM statuses WHERE id = #{id}").flatten.first)
  ensure
    psql('DROP TABLE IF EXISTS tagged_objects')
  end

  def test_handled_activity_counts_as_handled
    add_alice_status
    start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(fixture('create_note_mastodon'))
    assert_equal 1, count('statuses', "uri = #{q(NOTE_URI)}")
    assert_equal 1, activity_stats.dig('Create', 'handled')
    assert_empty @redis.lrange('queue:ruby_ingress', 0, -1)
  end

  # ActivityPub::Activity.factory has no class for EmojiReact (nor for Funkwhale's
  # Listen), and ActivityPub::Activity::Undo#perform does nothing for an object of type
  # EmojiReact: Mastodon completes such jobs having written nothing. scotty completes
  # them itself, counted as dropped. An LD-signed one is left to Ruby (its JSON-LD
  # compaction could rename the type), and so is an Undo of a Follow.
  def test_activities_mastodon_ignores_are_completed_here
    add_alice_status
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(fixture('emoji_react_pleroma'))
    deliver_and_wait(fixture('undo_emoji_react_akkoma'))
    deliver_and_wait(fixture_with('emoji_react_pleroma') { |d| d['type'] = 'Listen' })
    deliver_and_wait(fixture_with('emoji_react_pleroma') { |d| d['type'] = %w[EmojiReact Like] })
    assert_empty @redis.lrange('queue:ruby_ingress', 0, -1), scotty.log
    assert_empty retries
    assert_equal 0, count('favourites')
    stats = activity_stats
    assert_equal({ 'handled' => 0, 'forwarded' => 0, 'dropped' => 2, 'failed' => 0 }, stats['EmojiReact'])
    assert_equal({ 'handled' => 0, 'forwarded' => 0, 'dropped' => 1, 'failed' => 0 }, stats['Undo'])
    assert_equal 1, stats.dig('Listen', 'dropped')
    assert_match(/EmojiReact \S+ dropped: Mastodon ignores it: ActivityPub::Activity.factory has no class/, scotty.log)
    assert_match(/Undo \S+ dropped: Mastodon ignores it: ActivityPub::Activity::Undo does nothing/, scotty.log)
    scottyctl = File.join(File.dirname(ENV.fetch('SCOTTY_BIN')), 'control', 'scottyctl')
    table, st = Open3.capture2(scottyctl, '-s', @control, 'stats')
    assert st.success?, table
    assert_match(/^EmojiReact\s+0\s+0\s+2\s+0$/, table)

    deliver_and_wait(fixture_with('emoji_react_pleroma') { |d| d['signature'] = { 'type' => 'RsaSignature2017' } })
    deliver_and_wait(fixture_with('undo_emoji_react_akkoma') do |d|
      d['object'] = { 'id' => "#{BOB_URI}#follows/1", 'type' => 'Follow', 'actor' => BOB_URI,
                      'object' => 'https://scotty.test/users/alice' }
    end)
    assert_equal 2, @redis.llen('queue:ruby_ingress'), scotty.log
    assert_equal 1, activity_stats.dig('EmojiReact', 'forwarded')
    assert_equal 1, activity_stats.dig('Undo', 'forwarded')
  end
end
