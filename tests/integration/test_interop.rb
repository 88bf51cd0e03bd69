# test_interop.rb -- scotty against Ruby Sidekiq 6.4's own client and API: what
# Ruby pushes, scotty runs; what scotty writes, Sidekiq::API reads and operates on.
require_relative 'helper'
require 'securerandom'

class InteropTest < ScottyTest
  def test_runs_single_bulk_and_scheduled_jobs
    start_scotty('-c', '4', '--poll-interval', '1')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['ran', 'single', 0])
    push_marks('ran', 100)
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['ran', 'scheduled', 0],
                         'at' => Time.now.to_f + 1.5)
    assert_equal 1, Sidekiq::ScheduledSet.new.size
    wait_until(30, 'all 102 jobs to run') { @redis.llen('ran') == 102 }
    ran = @redis.lrange('ran', 0, -1)
    assert_equal 102, ran.uniq.size
    assert_equal 'scheduled', ran.last, 'the scheduled job ran after the immediate ones'
    assert_equal 0, Sidekiq::ScheduledSet.new.size
    wait_until(15, 'stat:processed to be flushed') { Sidekiq::Stats.new.processed >= 102 }
    assert_equal 0, Sidekiq::Stats.new.failed
    today = Time.now.utc.strftime('%Y-%m-%d')
    assert_operator Sidekiq::Stats::History.new(1).processed[today], :>=, 102
    assert_operator @redis.ttl("stat:processed:#{today}"), :>, 157_000_000
  end

  def test_process_set_and_workers_show_scotty
    s = start_scotty('-c', '3', '-q', 'critical,2', '-q', 'default,1', '-g', 'exec-host')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Sleep', 'args' => [6000], 'queue' => 'critical')
    procs = nil
    wait_until(15, 'the Busy page to show the running job') do
      procs = Sidekiq::ProcessSet.new.to_a
      procs.size == 1 && procs[0]['busy'] == 1
    end
    p = procs[0]
    assert_includes p['identity'], ":#{s.pid}:"
    assert_equal 3, p['concurrency']
    assert_equal %w[critical default], p['queues']
    assert_equal 'exec-host', p['tag']
    assert_equal 'false', p['quiet']
    assert_operator p['rss'], :>, 0
    assert_kind_of Float, p['beat']
    assert_includes p['labels'], 'scotty'
    work = Sidekiq::Workers.new.to_a
    assert_equal 1, work.size
    _process, _tid, w = work[0]
    assert_equal 'critical', w['queue']
    payload = w['payload']
    payload = JSON.parse(payload) if payload.is_a?(String)
    assert_equal 'Scotty::Diag::Sleep', payload['class']
    assert_in_delta Time.now.to_i, w['run_at'], 15
  end

  # Sidekiq 6, as scotty follows a cluster of Ruby 6.4 processes: the float
  # timestamps 6.4's API reads (test_sidekiq_version.rb covers 8.x's milliseconds).
  def test_retry_set_entries_survive_api_operations
    start_scotty('-c', '2', '--no-poller', '--sidekiq-version', '6')
    jid = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['kaboom'],
                               'backtrace' => true, 'custom_key' => { 'nested' => [1, 2.5] })
    wait_until(10, 'the failure to reach the retry set') { Sidekiq::RetrySet.new.size == 1 }
    entry = Sidekiq::RetrySet.new.first
    assert_equal jid, entry.jid
    assert_equal 'Scotty::Diag::Fail', entry.klass
    assert_equal 'RuntimeError', entry['error_class']
    assert_equal 'kaboom', entry['error_message']
    assert_equal 0, entry['retry_count']
    assert_equal 'default', entry.queue
    assert_kind_of Float, entry['failed_at']
    assert_equal({ 'nested' => [1, 2.5] }, entry['custom_key'], 'unknown keys preserved')
    assert_equal ["worker/jobs/diag.c:in `Scotty::Diag::Fail#perform'"], entry.error_backtrace
    assert_includes Backoff.sidekiq_default(0, 6), Backoff.delay_of(entry.item, entry.score),
                    'first retry in 15..24 s: 0^4 + 15 + rand(10) * 1'
    assert_equal entry.value, Sidekiq.dump_json(entry.item),
                 'stored bytes are what Ruby re-serializes (reschedule cannot duplicate)'

    entry.reschedule(Time.now.to_f + 3600)
    rs = Sidekiq::RetrySet.new
    assert_equal 1, rs.size, 'reschedule moved the entry instead of adding a second one'
    assert_in_delta Time.now.to_f + 3600, rs.first.score, 5

    rs.first.retry # "Retry now": pushes to the queue with retry_count - 1
    wait_until(10, 'the retried job to fail again') do
      e = Sidekiq::RetrySet.new.first
      Sidekiq::RetrySet.new.size == 1 && e && e.score < Time.now.to_f + 600
    end
    again = Sidekiq::RetrySet.new.first
    assert_equal 0, again['retry_count'], 'retry_count: -1 after Retry now, +1 after the failure'
    assert_kind_of Float, again['retried_at']
    again.delete
    assert_equal 0, Sidekiq::RetrySet.new.size
    wait_until(15, 'failures counted') { Sidekiq::Stats.new.failed == 2 }
  end

  def test_retry_options_follow_sidekiq_rules
    start_scotty('-c', '2', '--no-poller')
    zero = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['zero'], 'retry' => 0)
    Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['never'], 'retry' => false)
    Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['quietly'], 'retry' => 0,
                         'dead' => false)
    moved = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['moved'],
                                 'retry_queue' => 'low')
    last = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['last'], 'retry' => 2,
                                'retry_count' => 1)
    wait_until(15, 'five failures counted') { Sidekiq::Stats.new.failed == 5 }
    dead = Sidekiq::DeadSet.new.to_a
    assert_equal [last, zero].sort, dead.map(&:jid).sort, 'retry: 0 and exhausted retries die'
    assert_equal 2, dead.find { |d| d.jid == last }['retry_count']
    retries = Sidekiq::RetrySet.new.to_a
    assert_equal [moved], retries.map(&:jid)
    assert_equal 'low', retries[0].queue
  end

  def test_quiet_and_stop_from_the_api
    s = start_scotty('-c', '2')
    Sidekiq::ProcessSet.new.first.quiet!
    wait_until(15, 'quiet to show in the process set') do
      p = Sidekiq::ProcessSet.new.first
      p && p['quiet'] == 'true'
    end
    assert_match(/received TSTP/, s.log)
    push_marks('after-quiet', 3)
    wait_for_beats(s)
    assert_equal 0, @redis.llen('after-quiet'), 'a quiet process fetches nothing'
    assert_equal 3, Sidekiq::Queue.new('default').size
    Sidekiq::ProcessSet.new.first.stop!
    status = s.wait(30)
    assert status.success?, "scotty exit status #{status.inspect}\n#{s.log}"
    assert_equal 0, Sidekiq::ProcessSet.new.size
    assert_equal 3, Sidekiq::Queue.new('default').size, 'nothing lost by the stop'
  end

  def test_scotty_client_pushes_single_and_bulk
    start_scotty('-c', '2', '--sidekiq-version', '6')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Enqueue',
                         'args' => ['Scotty::Diag::Mark', 'default', ['bulk', 'x', 0], 2500])
    wait_until(20, 'all 2,500 bulk-pushed jobs to run') { @redis.llen('bulk') == 2500 }
    Sidekiq::Client.push('class' => 'Scotty::Diag::Enqueue', 'args' => ['Scotty::Diag::Noop', 'parked', [7]])
    wait_until(10, 'the single push') { Sidekiq::Queue.new('parked').size == 1 }
    job = Sidekiq::Queue.new('parked').first
    assert_equal [7], job.args
    assert_match(/\A\h{24}\z/, job.jid)
    assert_kind_of Float, job['enqueued_at']
    assert_includes Sidekiq::Queue.all.map(&:name), 'parked'
  end

  def test_unknown_classes_forwarded_unchanged
    start_scotty('-c', '2', '--forward-unknown', 'ruby')
    jid = Sidekiq::Client.push('class' => 'Mastodon::SomethingElse', 'args' => [1, 'two'])
    wait_until(10, 'the job to be forwarded') { @redis.llen('queue:ruby') == 1 }
    fwd = JSON.parse(@redis.lindex('queue:ruby', 0))
    assert_equal jid, fwd['jid']
    assert_equal [1, 'two'], fwd['args']
    assert_includes @redis.smembers('queues'), 'ruby'
    assert_equal 0, Sidekiq::RetrySet.new.size
  end

  # The keys sidekiq-unique-jobs v8's client middleware leaves for a queued job
  # (the gem is not packaged for Debian, so the test lays them out as it does).
  def lock_digest(digest, jid)
    @redis.set(digest, jid)
    @redis.hset("#{digest}:LOCKED", jid, Time.now.to_f.to_s)
    @redis.hset("#{digest}:INFO", 'worker', 'X')
    @redis.zadd('uniquejobs:digests', Time.now.to_f, digest)
  end

  def test_unique_job_locks_released_like_the_gem
    done, failing, early, both = Array.new(4) { SecureRandom.hex(12) }
    { 'uniquejobs:aaa' => done, 'uniquejobs:bbb' => failing, 'uniquejobs:ccc' => early,
      'uniquejobs:ddd' => both }.each do |d, j|
      lock_digest(d, j)
    end
    Sidekiq::Client.push('class' => 'Scotty::Diag::Noop', 'args' => [], 'jid' => done,
                         'lock' => 'until_executed', 'lock_digest' => 'uniquejobs:aaa')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['no'], 'jid' => failing,
                         'lock' => 'until_executed', 'lock_digest' => 'uniquejobs:bbb')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['no'], 'jid' => early,
                         'lock' => 'until_executing', 'lock_digest' => 'uniquejobs:ccc')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['no'], 'jid' => both,
                         'lock' => 'until_and_while_executing', 'lock_digest' => 'uniquejobs:ddd')
    start_scotty('-c', '2', '--no-poller')
    wait_until(10, 'all four to run') { Sidekiq::Stats.new.processed == 4 && Sidekiq::RetrySet.new.size == 3 }
    wait_until(10, 'the until_executed lock of the finished job released') do
      !@redis.exists?('uniquejobs:aaa:LOCKED')
    end
    refute @redis.exists?('uniquejobs:aaa')
    assert_nil @redis.zscore('uniquejobs:digests', 'uniquejobs:aaa')
    assert @redis.hexists('uniquejobs:bbb:LOCKED', failing), 'a failed until_executed job keeps its lock for the retry'
    refute @redis.exists?('uniquejobs:ccc:LOCKED'), 'until_executing is released before the job runs, even if it fails'
    refute @redis.exists?('uniquejobs:ddd:LOCKED'), 'so is the until part of until_and_while_executing'
    refute @redis.exists?('uniquejobs:ddd')
  end

  def test_ruby_sidekiq_runs_jobs_scotty_pushed
    log = start_ruby_sidekiq(<<~RUBY, '-q', 'ruby', '-c', '2')
      require 'sidekiq'
      class RubyMark
        include Sidekiq::Worker
        def perform(key, member)
          Sidekiq.redis { |r| r.rpush(key, member) }
        end
      end
    RUBY
    start_scotty('-c', '2')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Enqueue',
                         'args' => ['RubyMark', 'ruby', ['from-scotty', 'hello']])
    wait_until(30, "Ruby Sidekiq to run scotty's job\n#{File.read(log) rescue ''}") do
      @redis.lrange('from-scotty', 0, -1) == ['hello']
    end
  end
end
