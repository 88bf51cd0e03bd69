# test_hostile_jobs.rb -- jobs and keys a hostile or careless writer can leave in
# Redis: numbers out of range, NUL bytes, duplicate keys, oversized jobs, forged log
# lines, keys of the wrong type. scotty never dies of them, never loses the job, and
# says in its log what happened.
require_relative 'helper'

class HostileJobsTest < ScottyTest
  FAIL = 'Scotty::Diag::Fail'

  def dead_jobs
    @redis.zrange('dead', 0, -1).map { |j| JSON.parse(j) }
  end

  # Under 8.x, retry_count -2 made the jitter a modulo by zero (SIGFPE).
  def test_out_of_range_retry_count_goes_dead_and_the_process_lives
    s = start_scotty('-c', '2', '--no-poller', '--sidekiq-version', '8')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['beside', 'ok', 1500])
    @redis.lpush('queue:default', JSON.generate('class' => FAIL, 'args' => ['boom'], 'queue' => 'default',
                                                'jid' => 'a' * 24, 'retry' => true, 'retry_count' => -2))
    @redis.lpush('queue:default', JSON.generate('class' => FAIL, 'args' => ['boom'], 'queue' => 'default',
                                                'jid' => 'b' * 24, 'retry' => true, 'retry_count' => 'seven'))
    wait_until(20, "both jobs dead\n#{s.log}") { @redis.zcard('dead') == 2 }
    wait_until(10, 'the job running beside them') { @redis.lrange('beside', 0, -1) == ['ok'] }
    assert s.alive?, s.log
    assert_equal %w[a b].map { |c| c * 24 }, dead_jobs.map { |j| j['jid'] }.sort
    assert_equal 0, @redis.zcard('retry')
    assert_match(/retry_count is not an integer from -1 to 49999/, s.log)
    assert_empty @redis.keys('queue:scotty|*').flat_map { |k| @redis.lrange(k, 0, -1) }
  end

  # Range-valid counts keep Sidekiq's reading: -1 + 1 is retry 0.
  def test_retry_count_minus_one_is_a_first_retry
    start_scotty('-c', '1', '--no-poller', '--sidekiq-version', '8')
    @redis.lpush('queue:default', JSON.generate('class' => FAIL, 'args' => ['boom'], 'queue' => 'default',
                                                'jid' => 'c' * 24, 'retry' => true, 'retry_count' => -1))
    wait_until(20, 'the retry') { @redis.zcard('retry') == 1 }
    assert_equal 0, retries[0][0]['retry_count']
  end

  def test_nul_in_class_queue_or_jid_goes_dead_unrun
    s = start_scotty('-c', '2', '--no-poller')
    mark = ->(extra) { { 'class' => 'Scotty::Diag::Mark', 'args' => ['ran', 'x', 0], 'queue' => 'default', 'jid' => 'd' * 24 }.merge(extra) }
    @redis.lpush('queue:default', JSON.generate(mark.call('class' => "Scotty::Diag::Mark\u0000x")))
    @redis.lpush('queue:default', JSON.generate(mark.call('queue' => "default\u0000x")))
    @redis.lpush('queue:default', JSON.generate(mark.call('jid' => "#{'e' * 24}\u0000")))
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['alive', 'yes', 0])
    wait_until(20, "the good job after the bad ones\n#{s.log}") { @redis.lrange('alive', 0, -1) == ['yes'] }
    wait_until(10, 'three dead jobs') { @redis.zcard('dead') == 3 }
    assert_equal 0, @redis.llen('ran'), 'no job with a NUL in class, queue or jid ran'
    dead_jobs.each do |j|
      assert_equal 'Scotty::RefusedJob', j['error_class']
      assert_match(/contains a NUL byte/, j['error_message'])
    end
    assert_equal 3, s.log.scan(/job refused .*contains a NUL byte; moved to the dead set/).size
  end

  # Ruby (and jansson) read the last of two equal keys: an edit must change that one.
  def test_edits_change_the_key_ruby_reads
    start_scotty('-c', '1', '--no-poller')
    raw = '{"class":"Scotty::Diag::Fail","args":["boom"],"queue":"elsewhere","jid":"ffffffffffffffffffffffff",' \
          '"retry":3,"\u0071ueue":"default","error_class":"Old","error_class":"Older"}'
    @redis.lpush('queue:default', raw)
    wait_until(20, 'the retry') { @redis.zcard('retry') == 1 }
    job = @redis.zrange('retry', 0, -1).first
    parsed = JSON.parse(job)
    assert_equal 'default', parsed['queue']
    assert_equal 'RuntimeError', parsed['error_class']
    assert_includes job, '"queue":"elsewhere"', 'the shadowed first key is left as it was'
    assert_includes job, '"error_class":"Old"'
  end

  def test_oversized_job_goes_dead_with_a_message
    s = start_scotty('-c', '1', '--no-poller', '--max-job-bytes', '4096')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['big', 'x' * 8000, 0])
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['small', 'x' * 100, 0])
    wait_until(20, "the small job\n#{s.log}") { @redis.llen('small') == 1 }
    wait_until(10, 'the big job dead') { @redis.zcard('dead') == 1 }
    assert_equal 0, @redis.llen('big')
    job = dead_jobs.first
    assert_equal 'Scotty::RefusedJob', job['error_class']
    assert_match(/job size limit/, job['error_message'])
    assert_match(/job refused \(\d+ bytes\): it is bigger than the job size limit/, s.log)
  end

  def test_remote_text_cannot_forge_log_lines
    s = start_scotty('-c', '1', '--no-poller')
    Sidekiq::Client.push('class' => FAIL, 'args' => ["boom\n2026-01-01T00:00:00.000Z pid=1 ERROR: forged\r\e[2J"],
                         'retry' => false)
    wait_until(20, 'the failure logged') { s.log.include?('forged') }
    refute_match(/^2026-01-01T00:00:00.000Z pid=1 ERROR: forged/, s.log)
    assert_includes s.log, 'boom\x0a2026-01-01T00:00:00.000Z pid=1 ERROR: forged\x0d\x1b[2J'
  end

  # A retry set of the wrong type: the failed job stays in the private list, the log
  # names the key, and the stop gives it back to its queue.
  def test_wrong_typed_retry_set_keeps_the_job
    @redis.set('retry', 'not a sorted set')
    s = start_scotty('-c', '1', '--no-poller')
    Sidekiq::Client.push('class' => FAIL, 'args' => ['boom'], 'retry' => 3)
    wait_until(20, "the refused outcome logged\n#{s.log}") { s.log.include?('could not write the outcome') }
    assert_match(/could not write the outcome \(retry\) of class=#{FAIL} .*WRONGTYPE retry holds a string/, s.log)
    held = @redis.keys('queue:scotty|*').flat_map { |k| @redis.lrange(k, 0, -1) }
    assert_equal [FAIL], held.map { |j| JSON.parse(j)['class'] }, 'the job is still in the private list'
    assert s.stop.success?, s.log
    assert_equal [FAIL], Sidekiq::Queue.new('default').map(&:klass), 'the stop put it back in its queue'
    assert_equal 'not a sorted set', @redis.get('retry')
  end

  # A due job whose queue key has the wrong type stays in the schedule.
  def test_poller_leaves_a_job_whose_queue_is_wrong_typed
    @redis.set('queue:broken', 'a string')
    job = JSON.generate('class' => 'Scotty::Diag::Noop', 'args' => [], 'queue' => 'broken', 'jid' => '1' * 24)
    @redis.zadd('schedule', Time.now.to_f - 10, job)
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['later', 'ok', 0], 'at' => Time.now.to_f - 5)
    s = start_scotty('-c', '1', '--poll-interval', '1')
    wait_until(40, "the other due job moved\n#{s.log}") { @redis.lrange('later', 0, -1) == ['ok'] }
    wait_until(10, 'the refusal logged') { s.log.include?('a due job stays in schedule') }
    assert_match(/WRONGTYPE queue:broken holds a string/, s.log)
    assert_equal [job], @redis.zrange('schedule', 0, -1)
  end

  # Before, Hang [-5] spun on nanosleep's EINVAL forever, holding a thread.
  def test_builtin_jobs_refuse_out_of_range_pauses
    s = start_scotty('-c', '1', '--no-poller')
    [['Scotty::Diag::Hang', [-5]], ['Scotty::Diag::Sleep', ['1000']], ['Scotty::Diag::Mark', ['k', 'm', 10**12]]].each do |klass, args|
      Sidekiq::Client.push('class' => klass, 'args' => args, 'retry' => 1)
    end
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['alive', 'yes', 0])
    wait_until(20, "the good job after the bad ones\n#{s.log}") { @redis.lrange('alive', 0, -1) == ['yes'] }
    wait_until(10, 'three retries') { @redis.zcard('retry') == 3 }
    retries.each do |job, _|
      assert_equal 'ArgumentError', job['error_class']
      assert_match(/a pause must be an integer from 0 to 86400000 milliseconds/, job['error_message'])
    end
    assert_equal 0, @redis.llen('k')
  end
end
