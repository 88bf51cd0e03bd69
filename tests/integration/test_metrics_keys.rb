# test_metrics_keys.rb -- the Sidekiq Web "Metrics" tab keys scotty writes for the
# classes it runs: 7.x and 8.x key names, hash fields, TTLs and histogram buckets,
# checked against the documented formats (the suite's Ruby Sidekiq 6.4 has no
# Metrics tab to read them), and no such keys at all for --sidekiq-version 6.
require_relative 'helper'

class MetricsKeysTest < ScottyTest
  SLEEP = 'Scotty::Diag::Sleep'
  FAIL = 'Scotty::Diag::Fail'
  WRAPPED = 'Metrics::WrappedJob'
  AT_EXIT = 'Metrics::AtExit'
  SHORT_TTL = 8 * 3600
  MID_TTL = 3 * 24 * 3600

  # Three 1.2 s runs (histogram bucket 11: 1100-1699 ms), five no-op runs under an
  # ActiveJob-style "wrapped" name (bucket 0: < 20 ms), two failures, and a class
  # scotty has no handler for (Sidekiq fails it before its metrics middleware).
  def run_jobs(version)
    @t0 = Time.now.utc
    s = start_scotty('-c', '4', '--no-poller', '--no-job-log', '--sidekiq-version', version.to_s)
    3.times { Sidekiq::Client.push('class' => SLEEP, 'args' => [1200]) }
    5.times { Sidekiq::Client.push('class' => 'Scotty::Diag::Noop', 'args' => [], 'wrapped' => WRAPPED) }
    2.times { Sidekiq::Client.push('class' => FAIL, 'args' => ['boom'], 'retry' => false) }
    Sidekiq::Client.push('class' => 'Nope::Unknown', 'args' => [], 'retry' => false)
    wait_until(30, "all 11 jobs counted by a heartbeat\n#{s.log}") { Sidekiq::Stats.new.processed == 11 }
    s
  end

  # A job still running when TERM arrives: counted by the flush at exit.
  def stop_during_job(s)
    Sidekiq::Client.push('class' => SLEEP, 'args' => [2000], 'wrapped' => AT_EXIT)
    # Running, not only fetched: a fetched job not yet started is requeued by the stop.
    wait_until(10, 'the last job to start') { File.read("/proc/#{s.pid}/cmdline").include?('[1 of 4 busy]') }
    assert s.stop.success?, s.log
    @t1 = Time.now.utc
  end

  # Every UTC minute the test ran in, formatted as the key of that minute.
  def minutes(fmt)
    ((@t0.to_i / 60)..(@t1.to_i / 60)).map { |m| Time.at(m * 60).utc.strftime(fmt) }
  end

  def sum_fields(keys)
    totals = Hash.new(0)
    keys.each { |k| @redis.hgetall(k).each { |f, v| totals[f] += Integer(v) } }
    totals
  end

  def assert_counters(totals, where)
    fields = [AT_EXIT, FAIL, SLEEP, WRAPPED].flat_map { |c| ["#{c}|p", c == FAIL ? "#{c}|f" : "#{c}|ms"] }
    assert_equal fields.sort, totals.keys.sort, "#{where}: fields (failures untimed; unknown classes and the wrapper absent)"
    assert_equal 3, totals["#{SLEEP}|p"], where
    assert_includes 3600...(3 * 1700), totals["#{SLEEP}|ms"], where
    assert_equal 5, totals["#{WRAPPED}|p"], where
    assert_includes 0...(5 * 20), totals["#{WRAPPED}|ms"], where
    assert_equal 2, totals["#{FAIL}|p"], where
    assert_equal 2, totals["#{FAIL}|f"], where
    assert_equal 1, totals["#{AT_EXIT}|p"], "#{where}: the job finished during the stop"
    assert_includes 2000...2500, totals["#{AT_EXIT}|ms"], where
  end

  def assert_ttl(key, ttl)
    assert_includes (ttl - 120)..ttl, @redis.ttl(key), "TTL of #{key}"
  end

  # Sums the 26 u16 counters over the histogram keys of one class.
  def histogram(keys)
    sum = Array.new(26, 0)
    keys.each do |k|
      assert_ttl(k, SHORT_TTL)
      counts = @redis.bitfield(k, *(0...26).flat_map { |i| ['GET', 'u16', "##{i}"] })
      raw = @redis.get(k).unpack('n*') # big-endian u16s: bucket i at bytes 2i, 2i+1
      assert_equal counts, raw + Array.new(26 - raw.size, 0), "layout of #{k}"
      counts.each_with_index { |v, i| sum[i] += v }
    end
    sum
  end

  def assert_histograms(allowed)
    { SLEEP => [11, 3], WRAPPED => [0, 5], AT_EXIT => [12, 1] }.each do |klass, (bucket, n)|
      keys = @redis.keys('*').select { |k| k.include?(klass) }
      refute_empty keys, "histogram keys of #{klass}"
      keys.each { |k| assert_includes allowed.call(klass), k }
      want = Array.new(26, 0)
      want[bucket] = n
      assert_equal want, histogram(keys), "histogram of #{klass}"
    end
    assert_empty @redis.keys('*').select { |k| k.start_with?("#{FAIL}-", "h|#{FAIL}-") },
                 'failed runs are not timed'
  end

  def test_sidekiq_7_keys
    s = run_jobs(7)
    wait_until(3, 'the heartbeat to flush metrics, not only the exit') { @redis.keys('j|*').any? }
    stop_during_job(s)
    allowed = minutes('j|%Y%m%d|%-H:%-M')
    keys = @redis.keys('j|*')
    keys.each do |k|
      assert_includes allowed, k
      assert_ttl(k, SHORT_TTL)
    end
    assert_counters(sum_fields(keys), '7.x j| hashes')
    assert_histograms(->(klass) { minutes("#{klass}-%d-%H:%-M") })
    assert_empty @redis.keys('h|*'), 'no 8.x histogram keys'
  end

  def test_sidekiq_8_keys
    s = run_jobs(8)
    stop_during_job(s)
    by_minute = minutes('j|%y%m%d|%-H:%M')
    by_ten = by_minute.map { |k| k[0..-2] }.uniq
    keys = @redis.keys('j|*')
    minute_keys = keys.select { |k| by_minute.include?(k) }
    ten_keys = keys.select { |k| by_ten.include?(k) }
    assert_equal keys.sort, (minute_keys + ten_keys).sort, 'only 8.x minute and 10-minute keys'
    minute_keys.each { |k| assert_ttl(k, SHORT_TTL) }
    ten_keys.each { |k| assert_ttl(k, MID_TTL) }
    assert_counters(sum_fields(minute_keys), '8.x minute hashes')
    assert_counters(sum_fields(ten_keys), '8.x 10-minute hashes')
    assert_histograms(->(klass) { minutes("h|#{klass}-%-d-%-H:%-M") })
  end

  def test_sidekiq_6_writes_no_metrics
    s = run_jobs(6)
    stop_during_job(s)
    leaked = @redis.keys('*').select { |k| k.start_with?('j|', 'h|') || k.include?('Scotty::Diag') || k.include?('Metrics::') }
    assert_empty leaked, '6.4 has no Metrics tab: nothing written'
  end
end
