# test_ingress_polls.rb -- polls stored natively, row for row as Mastodon 4.8 stores
# them: Create{Question} (ActivityPub::Activity::Create#process_poll with
# ActivityPub::Parser::PollParser) from Mastodon, Pleroma, GoToSocial and Misskey
# payloads; Updates of a Question (ProcessStatusUpdateService#update_poll!): new counts
# and closing in an implicit update, changed options (votes reset, status_edits with
# poll_options) and a Question turned Note (the poll destroyed) in an explicit one.
# Hostile and odd polls: 10,000 options cut to 500, huge option names kept,
# non-numeric totalItems cast as Rails casts them, bogus times, shapes Ruby raises on
# (left to Ruby), a poll without options (Mastodon drops the status). An Update of a
# poll local accounts voted in schedules PollExpirationNotifyWorker with its
# sidekiq-unique-jobs lock, as queue_poll_notifications! does.
require_relative 'ingress_helper'
require 'digest'

class IngressPollsTest < IngressTest
  QUESTION_URI = 'https://remote.example/users/bob/statuses/113500000000000003'.freeze
  POLL_COLUMNS = 'p.account_id::text, p.status_id::text, array_to_json(p.options), array_to_json(p.cached_tallies), ' \
                 'p.votes_count::text, p.voters_count::text, p.multiple, p.hide_totals, ' \
                 "coalesce(to_char(p.expires_at, 'YYYY-MM-DD HH24:MI:SS.US'), ''), p.last_fetched_at IS NOT NULL, " \
                 'p.lock_version::text, p.created_at IS NOT NULL AND p.updated_at IS NOT NULL, s.poll_id = p.id'.freeze

  def setup
    super
    psql('TRUNCATE polls, poll_votes, notifications, notification_requests CASCADE')
  end

  # The polls row of the status at uri, as [account_id, status_id, options,
  # cached_tallies, votes_count, voters_count, multiple, hide_totals, expires_at,
  # last_fetched_at set, lock_version, timestamps set, statuses.poll_id points at it].
  def poll_row(uri = QUESTION_URI)
    out = psql("SELECT json_build_array(#{POLL_COLUMNS}) FROM polls p JOIN statuses s ON s.id = p.status_id " \
               "WHERE s.uri = #{q(uri)}").strip
    out.empty? ? nil : JSON.parse(out)
  end

  def question
    fixture_with('create_question') do |d|
      d['object']['oneOf'][0]['replies']['totalItems'] = 5
      d['object']['oneOf'][1]['replies']['totalItems'] = 1
      d['object']['votersCount'] = 6
      yield d['object'] if block_given?
    end
  end

  # An Update of the question whose object the block changes; `updated` makes it an
  # explicit edit.
  def question_update(updated: nil)
    doc = JSON.parse(question)
    doc['type'] = 'Update'
    doc['id'] = "#{QUESTION_URI}#updates/1"
    doc['object']['updated'] = updated if updated
    yield doc['object'] if block_given?
    JSON.generate(doc)
  end

  def stored_status_id(uri = QUESTION_URI)
    psql("SELECT id FROM statuses WHERE uri = #{q(uri)}").strip
  end

  def test_create_of_a_mastodon_question
    scotty = start_ingress_scotty
    deliver_and_wait(question)
    id = stored_status_id
    refute_empty id, scotty.log
    assert_equal [BOB.to_s, id, %w[Tea Coffee], [5, 1], '6', '6', false, false, '2026-11-25 18:00:00.000000',
                  false, '0', true, true], poll_row
    assert_equal '<p>Tea or coffee?</p>', status_row(QUESTION_URI)[2]
    assert_empty scheduled('PollExpirationNotifyWorker'), 'Create schedules no poll job'
    assert_equal 1, queued('default', 'DistributionWorker').size
    assert_equal 1, activity_stats.dig('Create', 'handled')
  end

  def test_create_of_other_servers_polls
    scotty = start_ingress_scotty
    %w[create_question_pleroma create_question_gotosocial create_question_misskey].each do |f|
      deliver_and_wait(fixture(f))
    end
    pleroma = poll_row('https://remote.example/objects/4e4d5c6b-7a89-4b0c-8d1e-2f3a4b5c6d7f')
    refute_nil pleroma, scotty.log
    # anyOf: multiple; `closed` (Pleroma's end time) with its microseconds
    assert_equal [%w[Vim Emacs nano], [4, 3, 0], '7', '5', true, '2026-11-27 18:10:00.451516'],
                 pleroma.values_at(2, 3, 4, 5, 6, 8)
    gts = poll_row('https://remote.example/users/bob/statuses/01JDQ9A3K4M5N6P7Q8R9S0T1V3')
    assert_equal [%w[yes no], [10, 2], '12', '12', false, '2026-11-24 19:00:00.000000'], gts.values_at(2, 3, 4, 5, 6, 8)
    misskey = poll_row('https://remote.example/notes/9xk3poll01')
    # no votersCount: NULL, as Mastodon stores it
    assert_equal [%w[cats dogs], [6, 5], '11', nil, false, '2026-11-26 18:20:00.000000'],
                 misskey.values_at(2, 3, 4, 5, 6, 8)
    assert_equal 3, count('polls')
  end

  def test_hostile_and_odd_polls
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    n = 0
    post = lambda do |&blk|
      n += 1
      uri = "#{QUESTION_URI}#{n}"
      deliver_and_wait(question do |o|
        o['id'] = uri
        blk.call(o)
      end)
      uri
    end
    # 10,000 options: PollParser takes the first 500
    many = post.call { |o| o['anyOf'] = (1..10_000).map { |i| { 'type' => 'Note', 'name' => "o#{i}" } } }
    row = poll_row(many)
    refute_nil row, scotty.log
    assert_equal 500, row[2].size
    assert_equal 'o500', row[2].last
    assert_equal [0] * 500, row[3]
    # a huge option name is kept whole: remote polls have no PollOptionsValidator
    huge = post.call { |o| o['oneOf'][0]['name'] = 'x' * 200_000 }
    assert_equal 200_000, poll_row(huge)[2][0].size
    # totalItems cast as Rails casts it: "12abc" 12, "many" 0
    cast = post.call do |o|
      o['oneOf'][0]['replies']['totalItems'] = '12abc'
      o['oneOf'][1]['replies']['totalItems'] = 'many'
    end
    assert_equal [[12, 0], '12'], poll_row(cast).values_at(3, 4)
    # an endTime DateTime.parse refuses: no expiry, and a log line
    bogus = post.call { |o| o['endTime'] = 'not a date' }
    assert_equal '', poll_row(bogus)[8]
    assert_match(/poll of #{Regexp.escape(bogus)}: `endTime` is not a date/, scotty.log)
    # closed: true without a time: closed now
    closed = post.call { |o| o['closed'] = true }
    assert_equal 't', psql("SELECT expires_at <= timezone('UTC', now()) FROM polls p JOIN statuses s ON " \
                           "s.id = p.status_id WHERE s.uri = #{q(closed)}").strip
    # no anyOf/oneOf: a plain status without a poll
    plain = post.call { |o| o.delete('oneOf') }
    refute_empty stored_status_id(plain)
    assert_nil poll_row(plain)
    before = count('statuses')
    # no options: Poll's validation makes Status.create! raise; ProcessingWorker gives up
    empty = post.call { |o| o['oneOf'] = [{ 'type' => 'Note' }] }
    assert_empty stored_status_id(empty)
    assert_match(/Poll options can't be blank/, scotty.log)
    # shapes Ruby raises on, and times it reads with its lenient DateTime.parse: Ruby's
    assert_equal 0, @redis.llen('queue:ruby_ingress')
    post.call { |o| o['oneOf'] = 'Tea' }
    post.call { |o| o['oneOf'][0]['replies'] = 'https://remote.example/replies' }
    post.call { |o| o['endTime'] = '2026-13-45T99:00:00Z' }
    assert_equal 3, @redis.llen('queue:ruby_ingress'), scotty.log
    assert_match(/`endTime` is a time that is not ISO 8601/, scotty.log)
    assert_equal before, count('statuses'), 'nothing written for what is left to Ruby'
    assert_equal 0, count('status_stats', "status_id NOT IN (SELECT id FROM statuses)")
    assert_equal 5, count('polls')
  end

  def test_implicit_update_refreshes_counts_and_closes
    scotty = start_ingress_scotty
    deliver_and_wait(question)
    id = stored_status_id
    text = status_row(QUESTION_URI)[2]
    deliver_and_wait(question_update do |o|
      o['oneOf'][0]['replies']['totalItems'] = 9
      o['votersCount'] = 10
      o['content'] = '<p>changed, but an implicit update does not edit</p>'
    end)
    row = poll_row
    assert_equal [%w[Tea Coffee], [9, 1], '10', '10', true, '1'], row.values_at(2, 3, 4, 5, 9, 10), scotty.log
    assert_equal text, status_row(QUESTION_URI)[2]
    assert_equal 0, count('status_edits')
    assert_empty queued('default', 'DistributionWorker').select { |j| j['args'] == [id.to_i, { 'update' => true }] }
    # closing: `closed` true is now
    deliver_and_wait(question_update { |o| o['closed'] = true })
    assert_equal ['2'], poll_row.values_at(10)
    assert_equal 't', psql('SELECT expires_at > timezone(\'UTC\', now()) - interval \'1 hour\' FROM polls').strip
    # options changed in an implicit update: Mastodon leaves the poll alone
    deliver_and_wait(question_update { |o| o['oneOf'] << { 'type' => 'Note', 'name' => 'Water' } })
    assert_equal [%w[Tea Coffee], '2'], poll_row.values_at(2, 10)
    assert_equal 3, activity_stats.dig('Update', 'handled')
  end

  def test_edit_changing_options_resets_votes_and_records_both_versions
    scotty = start_ingress_scotty
    deliver_and_wait(question)
    id = stored_status_id
    poll = psql('SELECT id FROM polls').strip
    psql("INSERT INTO poll_votes (account_id, poll_id, choice, created_at, updated_at) VALUES " \
         "(#{ALICE}, #{poll}, 0, now(), now())")
    deliver_and_wait(question_update(updated: '2026-11-24T18:30:00Z') do |o|
      o['oneOf'] << { 'type' => 'Note', 'name' => 'Water', 'replies' => { 'type' => 'Collection', 'totalItems' => 3 } }
      o['votersCount'] = 9
    end)
    # reset_votes!: every tally 0, votes_count and voters_count 0, the local votes gone
    assert_equal [%w[Tea Coffee Water], [0, 0, 0], '0', '0', true, '1', true], poll_row.values_at(2, 3, 4, 5, 9, 10, 12),
                 scotty.log
    assert_equal 0, count('poll_votes')
    assert_equal '2026-11-24 18:30:00', psql("SELECT edited_at FROM statuses WHERE id = #{id}").strip
    edits = rows("SELECT array_to_json(poll_options), created_at = (SELECT created_at FROM statuses WHERE id = #{id}) " \
                 "FROM status_edits WHERE status_id = #{id} ORDER BY id")
    assert_equal [['["Tea","Coffee"]', 't'], ['["Tea","Coffee","Water"]', 'f']], edits
    assert_equal 1, queued('default', 'DistributionWorker').count { |j| j['args'] == [id.to_i, { 'update' => true }] }
    assert_empty scheduled('PollExpirationNotifyWorker'), 'the votes were reset: nothing to notify'
  end

  def test_edit_to_a_note_destroys_the_poll
    scotty = start_ingress_scotty
    deliver_and_wait(question)
    id = stored_status_id
    poll = psql('SELECT id FROM polls').strip
    psql("INSERT INTO notifications (account_id, activity_id, activity_type, from_account_id, type, created_at, " \
         "updated_at) VALUES (#{ALICE}, #{poll}, 'Poll', #{BOB}, 'poll', now(), now()), " \
         "(#{ALICE}, 1, 'Mention', #{BOB}, 'mention', now(), now())")
    psql("UPDATE notifications SET filtered = true WHERE type = 'mention'")
    # a request whose count went stale: the destroyed notification's after_destroy recounts it
    psql("INSERT INTO notification_requests (account_id, from_account_id, notifications_count, created_at, " \
         "updated_at) VALUES (#{ALICE}, #{BOB}, 3, now(), now())")
    deliver_and_wait(question_update(updated: '2026-11-24T18:30:00Z') do |o|
      o['type'] = 'Note'
      o.delete('oneOf')
    end)
    assert_equal 0, count('polls'), scotty.log
    assert_equal [['mention']], rows('SELECT type FROM notifications'), 'the poll notification went with its poll'
    assert_equal '1', psql('SELECT notifications_count FROM notification_requests').strip, 'recounted'
    assert_equal '', psql("SELECT poll_id FROM statuses WHERE id = #{id}").strip
    assert_equal [['["Tea","Coffee"]'], ['NULL']],
                 rows("SELECT coalesce(array_to_json(poll_options)::text, 'NULL') FROM status_edits WHERE status_id = #{id} ORDER BY id")
  end

  def test_edit_adding_a_poll_to_a_note
    scotty = start_ingress_scotty
    deliver_and_wait(fixture('create_note_mastodon'))
    id = status_row[0]
    deliver_and_wait(fixture_with('update_note') do |d|
      d['object']['type'] = 'Question'
      d['object']['attachment'] = JSON.parse(fixture('create_note_mastodon'))['object']['attachment']
      d['object']['anyOf'] = [{ 'type' => 'Note', 'name' => 'Yes', 'replies' => { 'totalItems' => 4 } },
                              { 'type' => 'Note', 'name' => 'No', 'replies' => { 'totalItems' => 1 } }]
      d['object']['votersCount'] = 5
    end)
    row = poll_row(NOTE_URI)
    refute_nil row, scotty.log
    # a new poll is a significant change, saved after reset_votes!
    assert_equal [id, %w[Yes No], [0, 0], '0', '0', true, true, '0'], row.values_at(1, 2, 3, 4, 5, 6, 9, 10)
    assert_equal [['NULL'], ['["Yes","No"]']],
                 rows("SELECT coalesce(array_to_json(poll_options)::text, 'NULL') FROM status_edits WHERE status_id = #{id} ORDER BY id")
  end

  # sidekiq-unique-jobs' digest (legacy algorithm, as Mastodon configures it) of a
  # PollExpirationNotifyWorker for poll_id, computed here from the gem's rules.
  def poll_notify_digest(poll_id)
    pairs = { 'class' => 'PollExpirationNotifyWorker', 'queue' => 'default', 'lock_args' => [poll_id] }.sort
    "uniquejobs:#{Digest::MD5.hexdigest(JSON.generate(pairs))}"
  end

  # The schedule score of the (one) PollExpirationNotifyWorker: Sidekiq keeps "at" there.
  def poll_notify_due
    @redis.zrange('schedule', 0, -1, with_scores: true).find { |m, _| JSON.parse(m)['class'] == 'PollExpirationNotifyWorker' }&.last
  end

  def update_with_end_time(end_time, voted_for_coffee)
    question_update do |o|
      o['endTime'] = end_time
      o['oneOf'][1]['replies']['totalItems'] = voted_for_coffee
    end
  end

  # ProcessStatusUpdateService#queue_poll_notifications!: an update of a poll local
  # accounts voted in schedules PollExpirationNotifyWorker at expires_at + 5 minutes
  # under its until_executing lock; a later expiry is dropped by the lock, a sooner one
  # first removes the scheduled job with its lock; an expired poll schedules nothing.
  def test_update_of_a_poll_local_accounts_voted_in_schedules_its_notification
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(question { |o| o['endTime'] = '2036-11-25T18:00:00Z' })
    poll = Integer(psql('SELECT id FROM polls').strip)
    psql("INSERT INTO poll_votes (account_id, poll_id, choice, created_at, updated_at) VALUES " \
         "(#{ALICE}, #{poll}, 1, now(), now())")
    digest = poll_notify_digest(poll)
    due = Time.utc(2036, 11, 25, 18, 5).to_f

    deliver_and_wait(update_with_end_time('2036-11-25T18:00:00Z', 2))
    assert_equal 0, @redis.llen('queue:ruby_ingress'), scotty.log
    assert_equal [[5, 2], '1'], poll_row.values_at(3, 10), scotty.log
    jobs = scheduled('PollExpirationNotifyWorker')
    assert_equal 1, jobs.size, scotty.log
    job = jobs.first
    assert_equal [[poll], 'default', true, 'until_executing', 0, 'uniquejobs', [poll], digest],
                 job.values_at('args', 'queue', 'retry', 'lock', 'lock_timeout', 'lock_prefix', 'lock_args',
                               'lock_digest')
    assert_in_delta due, poll_notify_due, 0.001, 'due at expires_at + 5 minutes'
    assert_in_delta 50 * 86_400 + (due - Time.now.to_f), job['lock_ttl'], 30, 'lock_ttl: 50 days + time until due'
    # the lock, as queue_and_lock.lua leaves it
    assert_equal job['jid'], @redis.get(digest)
    assert_equal [job['jid']], @redis.hkeys("#{digest}:LOCKED")
    assert_in_delta due, @redis.zscore('uniquejobs:digests', digest), 0.001
    assert_in_delta job['lock_ttl'], @redis.ttl("#{digest}:LOCKED"), 30
    log = @redis.zrange('uniquejobs:changelog', 0, -1).map { |e| JSON.parse(e) }
    assert_equal [[digest, job['jid'], 'Locked', 'queue_and_lock.lua']],
                 log.map { |e| e.values_at('digest', 'job_id', 'message', 'script') }

    # a later expiry: the scheduled job's lock drops the new one
    deliver_and_wait(update_with_end_time('2037-01-01T00:00:00Z', 3))
    assert_equal [job['jid']], scheduled('PollExpirationNotifyWorker').map { |j| j['jid'] }, scotty.log
    assert_match(/PollExpirationNotifyWorker for poll #{poll} is scheduled already/, scotty.log)
    assert_equal 'Limited', JSON.parse(@redis.zrange('uniquejobs:changelog', -1, -1).first)['message']

    # a sooner expiry: the old job and its lock go, a new one is scheduled and locked
    deliver_and_wait(update_with_end_time('2035-06-01T12:00:00Z', 4))
    jobs = scheduled('PollExpirationNotifyWorker')
    assert_equal 1, jobs.size, scotty.log
    refute_equal job['jid'], jobs.first['jid']
    assert_in_delta Time.utc(2035, 6, 1, 12, 5).to_f, poll_notify_due, 0.001
    assert_equal [jobs.first['jid']], @redis.hkeys("#{digest}:LOCKED")
    messages = @redis.zrange('uniquejobs:changelog', 0, -1).map { |e| JSON.parse(e)['message'] }
    assert_equal ['Locked', 'Limited', 'Deleted (3) keys', 'Locked'], messages
    assert_equal 0, @redis.llen('queue:ruby_ingress')

    # once the poll has expired, Mastodon schedules nothing
    @redis.del('schedule')
    psql("UPDATE polls SET expires_at = now() - interval '1 day'")
    deliver_and_wait(question_update { |o| o['oneOf'][1]['replies']['totalItems'] = 5 })
    assert_equal [[5, 5]], [poll_row[3]]
    assert_empty scheduled('PollExpirationNotifyWorker')
    assert_equal 4, activity_stats.dig('Update', 'handled')
  end

  # A wrong-typed unique-jobs key: the Update is stored, its job retried with the
  # reason, and nothing is scheduled; once the key is fixed the retry schedules it.
  def test_poll_notification_with_a_wrong_typed_lock_key_retries
    scotty = start_ingress_scotty
    deliver_and_wait(question { |o| o['endTime'] = '2036-11-25T18:00:00Z' })
    poll = Integer(psql('SELECT id FROM polls').strip)
    psql("INSERT INTO poll_votes (account_id, poll_id, choice, created_at, updated_at) VALUES " \
         "(#{ALICE}, #{poll}, 1, now(), now())")
    @redis.set('uniquejobs:digests', 'not a sorted set')
    deliver_and_wait(update_with_end_time('2036-11-25T18:00:00Z', 2))
    assert_empty scheduled('PollExpirationNotifyWorker'), scotty.log
    retry_job = retries.find { |j| j['class'] == 'ActivityPub::ProcessingWorker' }
    refute_nil retry_job, scotty.log
    assert_match(/could not schedule PollExpirationNotifyWorker for poll #{poll}: .*WRONGTYPE uniquejobs:digests/,
                 retry_job['error_message'])
    assert_equal [[5, 2]], [poll_row[3]], 'the Update itself is stored'
    assert_empty @redis.keys("#{poll_notify_digest(poll)}*"), 'no lock without its job'
  end

  # A vote on a local poll (a Create of a named Note replying to it) is recorded by
  # Create#poll_vote!, which scotty leaves to Ruby.
  def test_vote_on_a_local_poll_is_left_to_ruby
    id = add_alice_status
    poll = psql("INSERT INTO polls (account_id, status_id, options, cached_tallies, expires_at, created_at, " \
                "updated_at) VALUES (#{ALICE}, #{id}, '{Tea,Coffee}', '{0,0}', now() + interval '1 day', now(), " \
                "now()) RETURNING id").lines.first.to_i
    psql("UPDATE statuses SET poll_id = #{poll} WHERE id = #{id}")
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(fixture_with('create_note_mastodon') do |d|
      d['object']['name'] = 'Tea'
      d['object'].delete('content')
      d['object'].delete('contentMap')
    end)
    assert_equal 1, @redis.llen('queue:ruby_ingress'), scotty.log
    assert_match(/a poll vote/, scotty.log)
    assert_nil status_row
    assert_equal 0, count('poll_votes')
  end

  def test_update_of_an_unknown_question_creates_and_refreshes_it
    scotty = start_ingress_scotty
    deliver_and_wait(question_update { |o| o['published'] = Time.now.utc.strftime('%Y-%m-%dT%H:%M:%SZ') })
    # Create, then the implicit update ProcessStatusUpdateService runs on it
    assert_equal [%w[Tea Coffee], [5, 1], true, '1'], poll_row.values_at(2, 3, 9, 10), scotty.log
  end
end
