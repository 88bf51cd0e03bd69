# test_ingress_create.rb -- Create{Note} through ActivityPub::ProcessingWorker: the
# rows Mastodon writes, its follow-up jobs, idempotence, delete-before-create,
# Delete after Create and Update (status edits).
require_relative 'ingress_helper'

class IngressCreateTest < IngressTest
  def setup
    super
    @alice_status = add_alice_status
    @scotty = start_ingress_scotty
  end

  def test_create_note_writes_mastodons_rows_and_follow_ups
    deliver_and_wait(fixture('create_note_mastodon'))
    row = status_row
    refute_nil row, "no status written; log:\n#{@scotty.log}"
    id, account, text, spoiler, vis, sensitive, lang, reply, in_reply_to, in_reply_to_account, conv, url,
      local, media, created = row
    assert_equal BOB.to_s, account
    assert_match(/Two photos from the harbour/, text)
    assert_equal '', spoiler
    assert_equal '0', vis
    assert_equal 'f', sensitive
    assert_equal 'en', lang
    assert_equal 't', reply
    assert_equal @alice_status.to_s, in_reply_to
    assert_equal ALICE.to_s, in_reply_to_account
    assert_equal 'https://remote.example/@bob/113500000000000001', url
    assert_equal 'f', local
    assert_equal '2026-11-24T18:00:00', created
    # delivered: a time-of-arrival id from timestamp_id (its time part is now, not published)
    assert_in_delta Time.now.to_f, (id.to_i >> 16) / 1000.0, 120
    # conversation by its ostatus URI
    assert_equal [['tag:remote.example,2026-11-24:objectId=4242:objectType=Conversation']],
                 rows("SELECT uri FROM conversations WHERE id = #{conv}")
    # media rows in order, type unknown until fetched, focus in file_meta
    ids = media.split(',')
    assert_equal 2, ids.size
    m = rows("SELECT id, type, remote_url, description, blurhash, file_meta::text, status_id, account_id, " \
             "processing FROM media_attachments ORDER BY array_position(ARRAY[#{media}]::bigint[], id)")
    assert_equal ids, m.map(&:first)
    assert_equal %w[3 3], m.map { |r| r[1] }
    assert_match(/a1b2c3d4e5f60718\.jpg\z/, m[0][2])
    assert_equal 'A red lighthouse at the end of a stone pier, gulls overhead.', m[0][3]
    assert_equal 'UFGIJ.t7t7WB~qofofWB?bfkofayRjayj[of', m[0][4]
    assert_equal({ 'focus' => { 'x' => 0.25, 'y' => -0.5 } }, JSON.parse(m[0][5]))
    assert_equal [id, BOB.to_s, '2'], m[0][6..8]
    # status_stats with the sender's untrusted counts; the parent's replies_count
    assert_equal [%w[3 1 0]], rows("SELECT untrusted_favourites_count, untrusted_reblogs_count, replies_count " \
                                   "FROM status_stats WHERE status_id = #{id}")
    assert_equal [['1']], rows("SELECT replies_count FROM status_stats WHERE status_id = #{@alice_status}")
    # mention of alice (not silent), hashtags
    assert_equal [[ALICE.to_s, 'f']], rows("SELECT account_id, silent FROM mentions WHERE status_id = #{id}")
    assert_equal [%w[harbour Harbour], %w[photography photography]],
                 rows("SELECT t.name, t.display_name FROM tags t JOIN statuses_tags st ON st.tag_id = t.id " \
                      "WHERE st.status_id = #{id} ORDER BY t.name")
    # account_stats
    count_, last = rows("SELECT statuses_count, last_status_at IS NOT NULL FROM account_stats " \
                        "WHERE account_id = #{BOB}").first
    assert_equal %w[1 t], [count_, last]
    # follow-up jobs, with Mastodon's classes, queues, args and retry options
    dist = queued('default', 'DistributionWorker')
    assert_equal 1, dist.size
    assert_equal [id.to_i, { 'silenced_account_ids' => [] }], dist[0]['args']
    assert_equal true, dist[0]['retry']
    crawl = scheduled('LinkCrawlWorker')
    assert_equal 1, crawl.size
    assert_equal [id.to_i, 'https://news.example/story'], crawl[0]['args']
    assert_equal 'pull', crawl[0]['queue']
    assert_equal 0, crawl[0]['retry']
    redownload = queued('pull', 'RedownloadMediaWorker')
    assert_equal ids.map { |i| [i.to_i] }.sort, redownload.map { |j| j['args'] }.sort
    assert_empty queued('pull', 'ThreadResolveWorker'), 'the parent is known'
    assert_empty queued('pull', 'ActivityPub::FetchRepliesWorker'), 'the replies page is embedded'
  end

  def test_unknown_parent_gets_thread_resolve_and_own_conversation
    body = fixture_with('create_note_mastodon') do |d|
      d['object']['inReplyTo'] = 'https://remote.example/users/carol/statuses/1'
      d['object'].delete('inReplyToAtomUri')
      d['object'].delete('conversation')
      d['object']['replies'] = 'https://remote.example/users/bob/statuses/113500000000000001/replies'
    end
    deliver_and_wait(body)
    row = status_row
    refute_nil row, @scotty.log
    id = row[0]
    assert_equal ['t', '0', '0'], [row[7], row[8], row[9]]
    assert_equal [[id, BOB.to_s]], rows("SELECT parent_status_id, parent_account_id FROM conversations " \
                                        "WHERE id = #{row[10]}")
    tr = queued('pull', 'ThreadResolveWorker')
    assert_equal [[id.to_i, 'https://remote.example/users/carol/statuses/1', { 'request_id' => nil }]],
                 tr.map { |j| j['args'] }
    assert_equal 3, tr[0]['retry']
    fr = queued('pull', 'ActivityPub::FetchRepliesWorker')
    assert_equal [[id.to_i, 'https://remote.example/users/bob/statuses/113500000000000001/replies',
                   { 'request_id' => nil }]], fr.map { |j| j['args'] }
  end

  # Runs the block while another session holds `insert` uncommitted, and commits it once
  # scotty waits for that session's row.
  def with_row_being_created(insert, table)
    other = Open3.popen3(*psql_command) # a session of its own, reading statements from stdin
    other[0].puts "BEGIN; #{insert};"
    other[0].flush
    wait_until(30, "the other transaction to hold its new row of #{table}") do
      count('pg_stat_activity', "state = 'idle in transaction' AND query LIKE 'INSERT INTO #{table}%'") == 1
    end
    yield
    wait_until(30, "scotty to wait for the other transaction; log:\n#{@scotty.log}") do
      count('pg_stat_activity', "wait_event_type = 'Lock' AND query LIKE '%INTO #{table}%'") == 1
    end
    other[0].puts 'COMMIT;'
    other[0].close
    assert other[3].value.success?, other[2].read
  end

  # Another transaction is creating the conversation's row when the post arrives (a
  # second reply in the same new thread, say): scotty waits for it and joins that row.
  def test_conversation_created_by_a_concurrent_transaction_is_joined
    uri = 'tag:remote.example,2026-11-24:objectId=4242:objectType=Conversation'
    with_row_being_created("INSERT INTO conversations (uri, created_at, updated_at) VALUES (#{q(uri)}, now(), now())",
                           'conversations') do
      deliver(fixture('create_note_mastodon'))
    end
    wait_idle
    row = status_row
    refute_nil row, @scotty.log
    assert_equal rows("SELECT id FROM conversations WHERE uri = #{q(uri)}"), [[row[10]]]
    assert_equal 1, count('conversations')
  end

  # The same for a hashtag: the post links the tag the other transaction created.
  def test_hashtag_created_by_a_concurrent_transaction_is_linked
    with_row_being_created("INSERT INTO tags (name, display_name, created_at, updated_at) VALUES ('harbour', " \
                           "'HARBOUR', now(), now())", 'tags') do
      deliver(fixture('create_note_mastodon'))
    end
    wait_idle
    row = status_row
    refute_nil row, @scotty.log
    assert_equal [%w[HARBOUR harbour], %w[photography photography]],
                 rows("SELECT t.display_name, t.name FROM tags t JOIN statuses_tags st ON st.tag_id = t.id " \
                      "WHERE st.status_id = #{row[0]} ORDER BY t.name")
    assert_equal 2, count('tags')
  end

  def test_delivered_twice_is_one_status
    body = fixture('create_note_mastodon')
    deliver(body)
    deliver(body)
    wait_idle
    assert_equal 1, count('statuses', "uri = #{q(NOTE_URI)}"), @scotty.log
    assert_equal 2, count('media_attachments')
    assert_equal 1, count('mentions')
    assert_equal 1, queued('default', 'DistributionWorker').size
    assert_equal 1, scheduled('LinkCrawlWorker').size
    assert_equal 2, queued('pull', 'RedownloadMediaWorker').size, 'one per attachment, not per delivery'
    assert_equal 1, count('conversations')
    assert_equal 2, count('statuses_tags')
    assert_equal [['1']], rows("SELECT statuses_count FROM account_stats WHERE account_id = #{BOB}")
    assert_equal [['1']], rows("SELECT replies_count FROM status_stats WHERE status_id = #{@alice_status}")
    # bob is stale: one refresh for both deliveries, its marker set with the first outcome
    assert_equal 1, scheduled('AccountRefreshWorker').size
    assert_equal 1, @redis.exists("scotty:unique:AccountRefreshWorker:#{BOB}")
    # the create lock went with each job's outcome
    assert_empty @redis.keys('lock:create:*')
    assert_empty @redis.keys('scotty:locks:*').flat_map { |k| @redis.hkeys(k) }
    assert_empty retries
  end

  # What a retry after a crash between the commit and the ack runs: the same job again.
  def test_same_job_run_again_changes_nothing
    jid = deliver_and_wait(fixture('create_note_mastodon'))
    before = TABLES.to_h { |t| [t, psql("SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM #{t} x")] }
    jobs = @redis.lrange('queue:default', 0, -1) + @redis.zrange('schedule', 0, -1) + @redis.lrange('queue:pull', 0, -1)
    Sidekiq::Client.push('class' => 'ActivityPub::ProcessingWorker', 'queue' => 'ingress', 'retry' => 8,
                         'backtrace' => true, 'jid' => jid,
                         'args' => [BOB, fixture('create_note_mastodon'), nil, 'Account'])
    wait_idle
    after = TABLES.to_h { |t| [t, psql("SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM #{t} x")] }
    assert_equal before, after
    assert_equal jobs.sort,
                 (@redis.lrange('queue:default', 0, -1) + @redis.zrange('schedule', 0, -1) +
                  @redis.lrange('queue:pull', 0, -1)).sort
    assert_empty retries
  end

  def test_delete_before_create_drops_the_create
    deliver_and_wait(fixture('delete_string'))
    assert_equal 1, @redis.exists("delete_upon_arrival:#{BOB}:#{NOTE_URI}")
    assert_operator @redis.ttl("delete_upon_arrival:#{BOB}:#{NOTE_URI}"), :>, 6 * 3600 - 120
    assert_equal [[BOB.to_s]], rows("SELECT account_id FROM tombstones WHERE uri = #{q(NOTE_URI)}")
    deliver_and_wait(fixture('create_note_mastodon'))
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}")
    assert_match(/tombstone exists/, @scotty.log)
    assert_empty queued('default', 'DistributionWorker')
  end

  # The create lock is asked for while the gate read runs: a post the gates then drop
  # gives the lock back and leaves another job's scotty:created marker as it was.
  def test_dropped_create_gives_back_the_lock_and_the_marker
    psql("INSERT INTO tombstones (uri, account_id, created_at, updated_at) VALUES (#{q(NOTE_URI)}, #{BOB}, " \
         'now(), now())')
    @redis.set("scotty:created:#{NOTE_URI}", 'an-earlier-job', ex: 3600)
    deliver_and_wait(fixture('create_note_mastodon'))
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}")
    assert_match(/tombstone exists/, @scotty.log)
    assert_equal 'an-earlier-job', @redis.get("scotty:created:#{NOTE_URI}")
    assert_empty @redis.keys('lock:create:*')
    assert_empty @redis.keys('scotty:locks:*').flat_map { |k| @redis.hkeys(k) }
    assert_empty retries
  end

  def test_delete_after_create_removes_the_status
    deliver_and_wait(fixture('create_note_mastodon'))
    id = status_row[0]
    deliver_and_wait(fixture('delete_tombstone'))
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}"), @scotty.log
    assert_equal 0, count('status_stats', "status_id = #{id}")
    assert_equal 0, count('mentions', "status_id = #{id}")
    assert_equal 0, count('statuses_tags', "status_id = #{id}")
    assert_equal 0, count('media_attachments'), 'remove_media destroys the attachments of an unreported status'
    assert_equal [['0']], rows("SELECT statuses_count FROM account_stats WHERE account_id = #{BOB}")
    assert_equal [['0']], rows("SELECT replies_count FROM status_stats WHERE status_id = #{@alice_status}")
    assert_equal 1, count('tombstones', "uri = #{q(NOTE_URI)}")
    # a second Delete is harmless; one tombstone
    deliver_and_wait(fixture('delete_tombstone'))
    assert_equal 1, count('tombstones', "uri = #{q(NOTE_URI)}")
    assert_empty retries
  end

  # RemoveStatusService around the database: home feeds, streams, stored files.
  def test_delete_unpushes_feeds_streams_and_files
    deliver_and_wait(fixture('create_note_mastodon'))
    id = status_row[0]
    @redis.zadd("feed:home:#{ALICE}", id.to_i, id)
    media = rows('SELECT id FROM media_attachments ORDER BY id').map(&:first)
    files = media.flat_map do |m|
      psql("UPDATE media_attachments SET type = 0, file_file_name = '0123456789abcdef.png', " \
           "file_storage_schema_version = 1 WHERE id = #{m}")
      part = m.scan(/.{3}/).join('/')
      %w[original small].map do |style|
        path = File.join(@tmp, 'system', 'cache', 'media_attachments', 'files', part, style, '0123456789abcdef.png')
        FileUtils.mkdir_p(File.dirname(path))
        File.write(path, 'png')
        path
      end
    end
    messages = Queue.new
    listener = Thread.new do
      r = @redis_server.client
      r.psubscribe('timeline:*') do |on|
        on.psubscribe { messages << :ready }
        on.pmessage { |_, channel, msg| messages << [channel, msg] }
      end
    end
    assert_equal :ready, messages.pop
    deliver_and_wait(fixture('delete_tombstone'))
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}"), @scotty.log
    assert_nil @redis.zscore("feed:home:#{ALICE}", id)
    files.each { |f| refute File.exist?(f), "#{f} should be deleted" }
    assert_equal 0, count('media_attachments')
    payload = JSON.generate('event' => 'delete', 'payload' => id)
    expected = ["timeline:#{ALICE}", "timeline:#{ALICE}", 'timeline:hashtag:harbour', 'timeline:hashtag:photography',
                'timeline:public', 'timeline:public:remote', 'timeline:public:media', 'timeline:public:remote:media']
    got = []
    wait_until(10, "the stream events #{expected}") do
      got << messages.pop until messages.empty?
      got.size >= expected.size
    end
    assert_equal expected.sort, got.map(&:first).sort
    got.each { |_, msg| assert_equal payload, msg }
  ensure
    listener&.kill
  end

  def test_delete_removes_boosts_with_their_counters
    deliver_and_wait(fixture('create_note_mastodon'))
    id = status_row[0]
    psql("INSERT INTO statuses (id, uri, account_id, reblog_of_id, created_at, updated_at, local, visibility) " \
         "VALUES (#{id.to_i + 1}, 'https://scotty.test/users/alice/statuses/1/activity', #{ALICE}, #{id}, now(), " \
         "now(), true, 0)")
    psql("INSERT INTO account_stats (account_id, statuses_count, created_at, updated_at) " \
         "VALUES (#{ALICE}, 5, now(), now())")
    deliver_and_wait(fixture('delete_tombstone'))
    assert_equal 0, count('statuses', "id IN (#{id}, #{id.to_i + 1})"), @scotty.log
    assert_equal [['4']], rows("SELECT statuses_count FROM account_stats WHERE account_id = #{ALICE}")
    assert_equal [['0']], rows("SELECT statuses_count FROM account_stats WHERE account_id = #{BOB}")
  end

  def test_delete_by_another_account_leaves_the_status
    add_remote(3, 'mallory', host: 'remote.example')
    deliver_and_wait(fixture('create_note_mastodon'))
    body = fixture_with('delete_string') do |d|
      d['actor'] = 'https://remote.example/users/mallory'
      d['id'] = 'https://remote.example/users/mallory#delete'
    end
    deliver_and_wait(body, actor: 3)
    assert_equal 1, count('statuses', "uri = #{q(NOTE_URI)}"), @scotty.log
  end

  def test_update_edits_the_status_and_records_versions
    deliver_and_wait(fixture('create_note_mastodon'))
    id = status_row[0]
    update = JSON.parse(fixture('update_note'))
    deliver_and_wait(JSON.generate(update))
    row = status_row
    assert_equal id, row[0]
    assert_equal update['object']['content'], row[2], @scotty.log
    refute_equal '', row[15], 'edited_at set'
    edits = rows("SELECT text, account_id FROM status_edits WHERE status_id = #{id} ORDER BY id")
    assert_equal 2, edits.size
    assert_match(/Two photos from the harbour/, edits[0][0])
    assert_equal update['object']['content'], edits[1][0]
    assert_equal 1, queued('default', 'DistributionWorker').count { |j| j['args'] == [id.to_i, { 'update' => true }] }
    # the same Update again changes nothing
    deliver_and_wait(JSON.generate(update))
    assert_equal 2, count('status_edits', "status_id = #{id}")
  end

  def update_published(at)
    fixture_with('update_note') { |d| d['object']['published'] = at.utc.strftime('%Y-%m-%dT%H:%M:%SZ') }
  end

  def test_update_of_old_unknown_status_is_ignored
    deliver_and_wait(update_published(Time.now - 2 * 86_400))
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}")
    assert_empty retries
    assert_match(/not known here and published more than a day ago/, @scotty.log)
  end

  def test_update_of_recent_unknown_status_creates_it
    body = update_published(Time.now - 60)
    deliver_and_wait(body)
    row = status_row
    refute_nil row, @scotty.log
    assert_equal JSON.parse(body)['object']['content'], row[2]
    assert_equal 1, queued('default', 'DistributionWorker').size
    assert_equal 0, count('status_edits')
  end
end
