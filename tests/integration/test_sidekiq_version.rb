# test_sidekiq_version.rb -- the Sidekiq version scotty follows: the Ruby Sidekiq
# processes' in the `processes` set (a real Ruby Sidekiq 6.4, or registered records
# shaped as 7.x/8.x write them), 8 when there are none, --sidekiq-version when given;
# the one log line saying why; the timestamps that follow (8.x: integer ms, as
# Sidekiq 8's JobRetry writes failed_at/retried_at; 6/7: float seconds); the
# version the heartbeat reports; and 8.x job and process records field by field.
require_relative 'helper'
require 'securerandom'

class SidekiqVersionTest < ScottyTest
  FAIL = 'Scotty::Diag::Fail'

  # A live process record as Ruby Sidekiq's heartbeat leaves it (60 s TTL).
  def register_ruby(version, host: 'rubyhost')
    id = "#{host}:#{rand(1000..99_999)}:#{SecureRandom.hex(6)}"
    info = { 'hostname' => host, 'started_at' => Time.now.to_f, 'pid' => 4242, 'tag' => 'app',
             'queues' => ['default'], 'weights' => [{ 'default' => 0 }], 'labels' => [],
             'identity' => id, 'embedded' => false }
    info['version'] = version if version
    @redis.sadd('processes', id)
    @redis.hset(id, 'info', JSON.generate(info), 'busy', '0', 'beat', Time.now.to_f.to_s,
                'quiet', 'false', 'rss', '1000', 'rtt_us', '100', 'concurrency', '5')
    @redis.expire(id, 60)
    id
  end

  # What must not count: a ghost (in the set, heartbeat expired) and another scotty.
  def register_noise
    @redis.sadd('processes', 'ghost:1:000000000000')
    scotty = register_ruby('scotty-0.1.0 (Sidekiq 6)', host: 'exec')
    legacy = register_ruby('scotty-0.1.0', host: 'exec-old')
    [scotty, legacy]
  end

  def version_line(s)
    s.log.lines.grep(/following Sidekiq/).tap { |l| assert_equal 1, l.size, s.log }.first
  end

  def own_info(s)
    id = @redis.smembers('processes').find { |m| m.include?(":#{s.pid}:") }
    [JSON.parse(@redis.hget(id, 'info')), @redis.hgetall(id)]
  end

  # One failure then (the job pushed with retry_count 0) one failed retry.
  def fail_twice
    first = Sidekiq::Client.push('class' => FAIL, 'args' => ['first'])
    again = Sidekiq::Client.push('class' => FAIL, 'args' => ['again'], 'retry_count' => 0,
                                 'failed_at' => Time.now.to_f - 30)
    wait_until(15, 'both failures in the retry set') { Sidekiq::RetrySet.new.size == 2 }
    jobs = retries.map(&:first)
    [jobs.find { |j| j['jid'] == first }, jobs.find { |j| j['jid'] == again }]
  end

  def test_no_ruby_process_means_sidekiq_8_and_millisecond_timestamps
    register_noise
    s = start_scotty('-c', '2', '--no-poller', '-q', 'default,2', '-q', 'low,1')
    assert_match(/INFO: following Sidekiq 8 \(no Ruby Sidekiq process in Redis\): .*job timestamps in milliseconds$/,
                 version_line(s))
    before = (Time.now.to_f * 1000).to_i
    first, again = fail_twice
    after = (Time.now.to_f * 1000).to_i + 1
    # Sidekiq 8's JobRetry: failed_at on the first failure, retried_at on later ones,
    # both Integer epoch milliseconds; the rest of the job as it was.
    assert_kind_of Integer, first['failed_at']
    assert_includes before..after, first['failed_at']
    refute first.key?('retried_at')
    assert_kind_of Integer, again['retried_at']
    assert_includes before..after, again['retried_at']
    assert_kind_of Float, again['failed_at'], 'the first failure time is left as it was'
    assert_equal 1, again['retry_count']
    refute first.key?('discarded_at'), 'discarded_at is never stored (Sidekiq sets it in memory)'

    info, hash = own_info(s)
    assert_equal 'scotty-0.1.0 (Sidekiq 8)', info['version']
    assert_equal({ 'default' => { 'concurrency' => 2, 'mode' => 'weighted',
                                  'weights' => { 'default' => 2, 'low' => 1 } } }, info['capsules'])
    assert_equal [{ 'default' => 2, 'low' => 1 }], info['weights']
    assert_equal %w[default low], info['queues']
    assert_equal false, info['embedded']
    assert_kind_of Float, info['started_at'], 'started_at stays float seconds in 8.x'
    assert_equal '2', hash['concurrency'], '8.1.2+ reads concurrency from the hash'
    assert_equal %w[beat busy concurrency info quiet rss rtt_us], hash.keys.sort
    assert_match(/\A\d+\.\d+\z/, hash['beat'], 'beat stays float seconds in 8.x')
  end

  def test_scotty_pushes_follow_the_version
    s = start_scotty('-c', '2', '--no-poller')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Enqueue', 'args' => ['Scotty::Diag::Noop', 'parked', [7]])
    wait_until(10, "the push\n#{s.log}") { @redis.llen('queue:parked') == 1 }
    job = JSON.parse(@redis.lindex('queue:parked', 0))
    assert_kind_of Integer, job['created_at']
    assert_equal job['created_at'], job['enqueued_at']
    assert_in_delta Time.now.to_f * 1000, job['enqueued_at'], 15_000
  end

  def test_ruby_sidekiq_7_processes_mean_sidekiq_7
    register_noise
    3.times { register_ruby('7.2.4') }
    s = start_scotty('-c', '2', '--no-poller')
    assert_match(/INFO: following Sidekiq 7 \(3 Ruby processes report 7\.2\.4\): .*job timestamps in float seconds$/,
                 version_line(s))
    first, again = fail_twice
    assert_kind_of Float, first['failed_at']
    assert_kind_of Float, again['retried_at']
    assert_equal 'scotty-0.1.0 (Sidekiq 7)', own_info(s)[0]['version']
  end

  def test_mixed_majors_follow_the_oldest_with_a_warning
    register_ruby('8.1.7')
    register_ruby('7.3.10')
    register_ruby('8.1.7')
    s = start_scotty('-c', '1', '--no-poller')
    line = version_line(s)
    assert_match(/WARN: following Sidekiq 7 \(3 Ruby processes report 7\.3\.10 \(1\), 8\.1\.7 \(2\); following the oldest, which cannot read what Sidekiq 8 writes; pass --sidekiq-version to choose\)/,
                 line)
    assert_match(/float seconds$/, line)
  end

  def test_sidekiq_version_flag_forces_the_version
    register_ruby('7.2.4')
    s = start_scotty('-c', '2', '--no-poller', '--sidekiq-version', '6')
    assert_match(/INFO: following Sidekiq 6 \(--sidekiq-version\): .*job timestamps in float seconds$/,
                 version_line(s))
    first, = fail_twice
    assert_kind_of Float, first['failed_at']
    assert_equal 'scotty-0.1.0 (Sidekiq 6)', own_info(s)[0]['version']
  end

  def test_timestamps_flag_overrides_the_version_default
    s = start_scotty('-c', '2', '--no-poller', '--timestamps', 'float')
    assert_match(/INFO: following Sidekiq 8 \(no Ruby Sidekiq process in Redis\): .*float seconds \(--timestamps\)$/,
                 version_line(s))
    first, = fail_twice
    assert_kind_of Float, first['failed_at']
    s.stop
    @redis.flushdb
    t = start_scotty('-c', '2', '--no-poller', '--sidekiq-version', '7', '--timestamps', 'millis')
    assert_match(/WARN: following Sidekiq 7 \(--sidekiq-version\): .*milliseconds \(--timestamps; Sidekiq 6 and 7 misread them as seconds\)$/,
                 version_line(t))
  end

  # Fields scotty does not know (an iterable job's, Pro's, CurrentAttributes') go to
  # the retry set unchanged, and an iterable job's state hash is never touched.
  def test_unknown_fields_and_iteration_state_left_alone
    start_scotty('-c', '2', '--no-poller')
    jid = SecureRandom.hex(12)
    @redis.hset("it-#{jid}", 'ex', '3', 'c', '"cursor-7"', 'rt', '1.5')
    @redis.expire("it-#{jid}", 30 * 24 * 3600)
    raw = %({"retry":true,"queue":"default","class":"#{FAIL}","args":["x"],"jid":"#{jid}",) +
          %("created_at":1700000000000,"enqueued_at":1700000000123,"cattr":{"user":7},) +
          %("bid":"b-1","profile":"yes","tags":["a"],"log_level":"debug"})
    @redis.lpush('queue:default', raw)
    wait_until(15, 'the failure in the retry set') { @redis.zcard('retry') == 1 }
    stored = @redis.zrange('retry', 0, -1).first
    assert stored.start_with?(raw[0..-2] + ','), "the job's own bytes come first, unchanged:\n#{stored}"
    job = JSON.parse(stored)
    assert_equal %w[error_message error_class failed_at retry_count], job.keys - JSON.parse(raw).keys
    assert_equal({ 'ex' => '3', 'c' => '"cursor-7"', 'rt' => '1.5' }, @redis.hgetall("it-#{jid}"))
  end

  # The suite's Ruby Sidekiq 6.4 writes no version in its info: scotty follows 6.
  def test_real_ruby_sidekiq_6_means_sidekiq_6
    log = start_ruby_sidekiq("require 'sidekiq'\n", '-q', 'ruby', '-c', '1')
    wait_until(30, "Ruby Sidekiq to register\n#{File.read(log) rescue ''}") { Sidekiq::ProcessSet.new.size == 1 }
    s = start_scotty('-c', '1', '--no-poller')
    assert_match(/INFO: following Sidekiq 6 \(1 Ruby process reports no version \(6\.x or 7\.0\.0-7\.0\.1\)\): .*float seconds$/,
                 version_line(s))
  end
end
