# test_dead_trim.rb -- Scotty::DeadSetTrim against a real Redis and scotty: the
# dead set trimmed by age and by size with Sidekiq's rules (Sidekiq::DeadSet reads
# the result), bounds from the job's arguments or the process's sidekiq.yml.
require_relative '../integration/helper'

class DeadTrimTest < ScottyTest
  DAY = 86_400

  # `old` jobs dead for 200 days; `recent` ones died a minute apart, the first 50 minutes ago.
  def seed(old:, recent:)
    now = Time.now.to_f
    old.times { |i| @redis.zadd('dead', now - 200 * DAY + i, JSON.generate('jid' => "old#{i}", 'class' => 'X')) }
    recent.times do |i|
      @redis.zadd('dead', now - 3000 + i * 60, JSON.generate('jid' => "new#{i}", 'class' => 'X'))
    end
  end

  def trim(args = [])
    Sidekiq::Client.push('class' => 'Scotty::DeadSetTrim', 'queue' => 'default', 'args' => args)
  end

  def trimmed(scotty, n)
    wait_until(30, "#{n} trim lines\n#{scotty.log}") { scotty.log.scan(/dead set trimmed: .*/).size >= n }
    scotty.log.scan(/dead set trimmed: .*/)[n - 1]
  end

  def dead_jids
    Sidekiq::DeadSet.new.map(&:jid).sort
  end

  def test_trims_by_age_then_by_size
    seed(old: 5, recent: 20)
    s = start_scotty('-c', '1', '-q', 'default')
    trim
    assert_match(/5 jobs older than 15552000 s and 0 beyond 10000 jobs removed/, trimmed(s, 1))
    assert_equal (0...20).map { |i| "new#{i}" }.sort, dead_jids, 'only the jobs older than 180 days went'

    trim([{ 'dead_max_jobs' => 10 }])
    assert_match(/0 jobs older than .* and 11 beyond 10 jobs removed/, trimmed(s, 2))
    # Sidekiq's bound: ZREMRANGEBYRANK dead 0 -10 keeps the newest nine.
    assert_equal (11...20).map { |i| "new#{i}" }.sort, dead_jids

    # Dead for more than 35.5 minutes: new0..new14 (whatever the test's own delay).
    trim([{ 'dead_timeout_in_seconds' => 2130 }])
    assert_match(/4 jobs older than 2130 s and 0 beyond 10000 jobs removed/, trimmed(s, 3))
    assert_equal (15...20).map { |i| "new#{i}" }.sort, dead_jids
  end

  def test_bounds_from_sidekiq_yml_and_bad_arguments
    dir = Dir.mktmpdir('scotty-dead')
    path = File.join(dir, 'sidekiq.yml')
    File.write(path, ":queues:\n  - default\n:dead_max_jobs: 15\n:dead_timeout_in_seconds: 864000\n")
    seed(old: 3, recent: 20)
    s = start_scotty('-c', '1', '-C', path)
    trim
    assert_match(/3 jobs older than 864000 s and 6 beyond 15 jobs removed/, trimmed(s, 1))
    assert_equal 14, @redis.zcard('dead')

    trim([{ 'max' => 3 }])
    wait_until(30, "the bad job in the retry set\n#{s.log}") { @redis.zcard('retry') == 1 }
    failed = JSON.parse(@redis.zrange('retry', 0, 0).first)
    assert_equal 'ArgumentError', failed['error_class']
    assert_match(/"max" is not one of dead_max_jobs/, failed['error_message'])
    assert_equal 14, @redis.zcard('dead'), 'a refused job trims nothing'
  ensure
    FileUtils.rm_rf(dir) if dir
  end
end
