# test_sidekiq_records.rb -- what Sidekiq 7.x and 8.x Web UIs and APIs read from the
# records scotty writes, as a table taken from ../shared/reference/sidekiq-protocol.md
# (the section is named in each row). Only Ruby Sidekiq 6.4 can be installed here,
# so these expectations stand in for the 7.x/8.x readers (6.4's rows are here too).
# scotty runs with --sidekiq-version 6, 7 and 8 and its records are checked row by
# row: the process hash and its info, the work hash, job timestamps, retry and dead
# entries, stats and the Metrics keys.
require_relative 'helper'
require 'base64'
require 'socket'
require 'zlib'

class SidekiqRecordsTest < ScottyTest
  FLOAT_S = ->(v) { v.is_a?(Float) && v > 1e9 && v < 1e11 }
  INT_MS = ->(v) { v.is_a?(Integer) && v > 1e12 && v < 1e14 }
  FLOAT_TEXT = ->(v) { v.is_a?(String) && v.match?(/\A\d{10}\.\d+\z/) }
  INT_TEXT = ->(v) { v.is_a?(String) && v.match?(/\A\d+\z/) }
  TS = { 6 => FLOAT_S, 7 => FLOAT_S, 8 => INT_MS }.freeze # sidekiq-protocol.md 2.2
  ALL = [6, 7, 8].freeze
  BOTH = [7, 8].freeze

  # [section, versions, what, value from the records r, expectation]
  TABLE = [
    # The process registry and hash (Busy page, ProcessSet)
    ['1 / 7.2', ALL, 'processes holds the identity', ->(r) { r[:processes].include?(r[:id]) }, true],
    ['1 / 7.2', ALL, 'IDENTITY hash TTL at most 60 s', ->(r) { r[:ttl].between?(1, 60) }, true],
    ['7.5', ALL, 'hash fields ProcessSet reads',
     ->(r) { (%w[info busy beat quiet rss rtt_us] - r[:hash].keys).empty? }, true],
    ['7.2 (8.1.2+)', BOTH, 'hash field concurrency = -c', ->(r) { r[:hash]['concurrency'] }, '3'],
    ['7.5', ALL, 'busy is an integer string', ->(r) { INT_TEXT.(r[:hash]['busy']) }, true],
    ['7.5', ALL, 'busy counts the running job', ->(r) { r[:hash]['busy'] }, '1'],
    ['2.2 / 7.5', ALL, 'beat is float seconds text', ->(r) { FLOAT_TEXT.(r[:hash]['beat']) }, true],
    ['7.5', ALL, 'quiet is the string "false"', ->(r) { r[:hash]['quiet'] }, 'false'],
    ['7.2 / 7.5', ALL, 'rss is an integer (KB) above 0',
     ->(r) { INT_TEXT.(r[:hash]['rss']) && r[:hash]['rss'].to_i.positive? }, true],
    ['7.2 / 7.5', ALL, 'rtt_us is an integer (µs)', ->(r) { INT_TEXT.(r[:hash]['rtt_us']) }, true],
    # info (7.3 table: 7.0.3-8.0.8 and 8.0.9+ columns)
    ['7.3', ALL, 'info.hostname', ->(r) { r[:info]['hostname'] }, Socket.gethostname],
    ['7.3', ALL, 'info.started_at float seconds', ->(r) { FLOAT_S.(r[:info]['started_at']) }, true],
    ['7.3', ALL, 'info.pid', ->(r) { r[:info]['pid'] }, :pid],
    ['7.3', ALL, 'info.tag', ->(r) { r[:info]['tag'] }, 'records'],
    ['7.3', ALL, 'info.labels is an array', ->(r) { r[:info]['labels'].is_a?(Array) }, true],
    ['7.3', ALL, 'info.identity is the hash key', ->(r) { r[:info]['identity'] == r[:id] }, true],
    ['7.3 (to 8.1.1)', ALL, 'info.concurrency', ->(r) { r[:info]['concurrency'] }, 3],
    ['7.3', ALL, 'info.queues, config order', ->(r) { r[:info]['queues'] }, %w[default low]],
    ['4.2 / 7.3 / 7.5', BOTH, 'info.weights: one map per capsule, 0 = strict',
     ->(r) { r[:info]['weights'] }, [{ 'default' => 0, 'low' => 0 }]],
    ['7.3 / 7.5', BOTH, 'info.version is a string', ->(r) { r[:info]['version'].is_a?(String) }, true],
    ['7.3 / 7.5', BOTH, 'info.embedded false (Quiet/Stop buttons shown)', ->(r) { r[:info]['embedded'] }, false],
    ['7.3 (8.0.9+) / 4.2', [8], 'info.capsules',
     ->(r) { r[:info]['capsules'] },
     { 'default' => { 'concurrency' => 3, 'mode' => 'strict', 'weights' => { 'default' => 0, 'low' => 0 } } }],
    # The work hash (Busy page's jobs, WorkSet)
    ['1 / 7.2', ALL, 'IDENTITY:work holds the running job', ->(r) { r[:work].size }, 1],
    ['1 / 7.2', ALL, 'IDENTITY:work TTL at most 60 s', ->(r) { r[:work_ttl].between?(1, 60) }, true],
    ['7.4', ALL, 'work value keys', ->(r) { r[:work_value].keys.sort }, %w[payload queue run_at]],
    ['7.4', ALL, 'work queue', ->(r) { r[:work_value]['queue'] }, 'default'],
    ['7.4', ALL, 'work payload is the raw job as a string',
     ->(r) { r[:work_value]['payload'] == r[:sleep_raw] }, true],
    ['2.2 / 7.4', ALL, 'work run_at integer seconds',
     ->(r) { r[:work_value]['run_at'].is_a?(Integer) && (r[:work_value]['run_at'] - Time.now.to_i).abs < 3600 }, true],
    # Jobs scotty pushes itself (Diag::Enqueue): client fields
    ['2.1 / 3.4', ALL, 'pushed job: created_at in the version\'s unit',
     ->(r) { TS.fetch(r[:v]).(r[:pushed]['created_at']) }, true],
    ['2.1 / 3.4', ALL, 'pushed job: enqueued_at in the version\'s unit',
     ->(r) { TS.fetch(r[:v]).(r[:pushed]['enqueued_at']) }, true],
    ['2.1 / 3.4', ALL, 'pushed job: 24 hex jid', ->(r) { r[:pushed]['jid'].match?(/\A\h{24}\z/) }, true],
    ['3.4', ALL, 'pushed job: retry true, queue set', ->(r) { r[:pushed].values_at('retry', 'queue') },
     [true, 'parked']],
    ['1 / 3.1', ALL, 'pushed job: its queue in `queues`', ->(r) { r[:queues].include?('parked') }, true],
    # Retry entries (Retries page, RetrySet)
    ['5.1', ALL, 'retry: error_class', ->(r) { r[:retry]['error_class'] }, 'RuntimeError'],
    ['5.1', ALL, 'retry: error_message', ->(r) { r[:retry]['error_message'] }, 'first'],
    ['5.1', ALL, 'retry: retry_count 0 at the first failure', ->(r) { r[:retry]['retry_count'] }, 0],
    ['2.2 / 5.1', ALL, 'retry: failed_at in the version\'s unit',
     ->(r) { TS.fetch(r[:v]).(r[:retry]['failed_at']) }, true],
    ['5.1', ALL, 'retry: no retried_at at the first failure', ->(r) { r[:retry].key?('retried_at') }, false],
    ['2.2 / 5.1', ALL, 'retry again: retried_at in the version\'s unit',
     ->(r) { TS.fetch(r[:v]).(r[:again]['retried_at']) }, true],
    ['5.1', ALL, 'retry again: retry_count + 1', ->(r) { r[:again]['retry_count'] }, 3],
    ['2.3', ALL, 'retry: fields appended in Ruby\'s order',
     ->(r) { r[:retry].keys.last(5) }, %w[error_message error_class failed_at retry_count error_backtrace]],
    ['2.1', ALL, 'retry: error_backtrace strict base64 of zlib JSON',
     ->(r) { bt = r[:retry]['error_backtrace']; !bt.include?("\n") && JSON.parse(Zlib::Inflate.inflate(Base64.strict_decode64(bt))).is_a?(Array) }, true],
    ['2.2 / 5.2', ALL, 'retry: score is float seconds', ->(r) { FLOAT_S.(r[:retry_score]) }, true],
    ['5.2', ALL, 'retry: first delay 15 + jitter', ->(r) { Backoff.sidekiq_default(0, r[:v]).cover?(Backoff.delay_of(r[:retry], r[:retry_score])) }, true],
    ['5.2 (6.2.2-7.3.x)', [6, 7], 'retry at count 3: jitter rand(10) * 4, a multiple of 4',
     ->(r) { j = Backoff.delay_of(r[:again], r[:again_score]) - 96; j % 4 == 0 && j.between?(0, 36) }, true],
    ['5.2 (8.0.0+)', [8], 'retry at count 3: jitter rand(40)',
     ->(r) { (96..135).cover?(Backoff.delay_of(r[:again], r[:again_score])) }, true],
    # retry_for (5.1 exhaustion test, 5.4)
    ['5.1 (7.1.3-8.0.x)', [7], 'retry_for not yet passed, retries exhausted: dead',
     ->(r) { r[:dead_jids].include?(r[:rf_count]) }, true],
    ['5.1 (8.1.0+)', [8], 'retry_for not yet passed, retries exhausted: retried (time test only)',
     ->(r) { r[:retry_jids].include?(r[:rf_count]) }, true],
    ['5.1 / 5.4', BOTH, 'retry_for passed: dead', ->(r) { r[:dead_jids].include?(r[:rf_late]) }, true],
    ['5.1 (to 7.1.2) / 5.4', [6], 'retry_for unknown to 6.x: passed, yet retried',
     ->(r) { r[:retry_jids].include?(r[:rf_late]) }, true],
    ['5.1 (to 7.1.2)', [6], 'retries exhausted: dead', ->(r) { r[:dead_jids].include?(r[:rf_count]) }, true],
    ['1 / 7.2 (6.4.0-6.4.1)', ALL, 'IDENTITY:workers holds the running job too', ->(r) { r[:workers].size }, 1],
    ['7.9', [6], 'no Metrics keys (6.4 has no Metrics tab)', ->(r) { r[:metrics_keys] }, []],
    # Dead entries (Dead page, DeadSet)
    ['5.3', ALL, 'dead: score now, float seconds',
     ->(r) { FLOAT_S.(r[:dead_score]) && (r[:dead_score] - Time.now.to_f).abs < 600 }, true],
    ['5.1', ALL, 'dead: error fields', ->(r) { r[:dead].values_at('error_class', 'error_message', 'retry_count') },
     ['RuntimeError', 'dies', 0]],
    ['2.1', ALL, 'dead: discarded_at not stored', ->(r) { r[:dead].key?('discarded_at') }, false],
    # Stats (dashboard)
    ['1 / 7.2', ALL, 'stat:processed counts every execution', ->(r) { r[:processed] >= 7 }, true],
    ['4.3 / 7.2', ALL, 'stat:failed counts the failures', ->(r) { r[:failed] }, 6],
    ['1 / 7.2', ALL, 'daily stat key with a 5-year TTL',
     ->(r) { r[:daily_ttl].between?(157_680_000 - 600, 157_680_000) }, true],
    # Metrics tab (7.9)
    ['7.9 (7.x)', [7], 'j|YYYYMMDD|H:M hash with Class|p and Class|ms, 8 h TTL',
     ->(r) { m = r[:metrics7]; m && m[:fields].include?('Scotty::Diag::Noop|p') && m[:fields].include?('Scotty::Diag::Noop|ms') && m[:ttl].between?(1, 8 * 3600) }, true],
    ['7.9 (7.x)', [7], 'failures counted as Class|f', ->(r) { r[:metrics7] && r[:metrics7][:fields].include?('Scotty::Diag::Fail|f') }, true],
    ['7.9 (7.x)', [7], 'histogram Class-DD-HH:M, 8 h TTL',
     ->(r) { (t = r[:hist7]) && t.between?(1, 8 * 3600) }, true],
    ['7.9 (8.x)', [8], 'j|yymmdd|H:MM minute hash, 8 h TTL',
     ->(r) { m = r[:metrics8m]; m && m[:fields].include?('Scotty::Diag::Noop|p') && m[:ttl].between?(1, 8 * 3600) }, true],
    ['7.9 (8.x)', [8], 'j|yymmdd|H:M ten-minute hash, 3 days TTL',
     ->(r) { m = r[:metrics8t]; m && m[:fields].include?('Scotty::Diag::Noop|p') && m[:ttl].between?(8 * 3600, 3 * 86_400) }, true],
    ['7.9 (8.x)', [8], 'histogram h|Class-D-H:M, 8 h TTL', ->(r) { (t = r[:hist8]) && t.between?(1, 8 * 3600) }, true]
  ].freeze

  def ttl_of(key)
    @redis.exists?(key) ? @redis.ttl(key) : nil
  end

  # The metrics keys of the minutes since t0 (the jobs ran in them).
  def metrics_records(t0)
    minutes = (0..3).map { |k| Time.at(t0.to_i + 60 * k).utc }
    find = lambda do |names|
      key = names.find { |n| @redis.exists?(n) }
      key && { fields: @redis.hkeys(key), ttl: @redis.ttl(key) }
    end
    {
      metrics7: find.(minutes.map { |t| "j|#{t.strftime('%Y%m%d')}|#{t.hour}:#{t.min}" }),
      hist7: minutes.map { |t| ttl_of("Scotty::Diag::Noop-#{t.strftime('%d')}-#{t.strftime('%H')}:#{t.min}") }.compact.first,
      metrics8m: find.(minutes.map { |t| "j|#{t.strftime('%y%m%d')}|#{t.hour}:#{t.strftime('%M')}" }),
      metrics8t: find.(minutes.map { |t| "j|#{t.strftime('%y%m%d')}|#{t.hour}:#{t.min / 10}" }),
      hist8: minutes.map { |t| ttl_of("h|Scotty::Diag::Noop-#{t.day}-#{t.hour}:#{t.min}") }.compact.first
    }
  end

  def records(v)
    t0 = Time.now.utc
    s = start_scotty('-c', '3', '-g', 'records', '-q', 'default', '-q', 'low', '--no-poller',
                     '--sidekiq-version', v.to_s)
    id = identity_of(s)
    r = { v: v, id: id }
    first = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['first'], 'backtrace' => true)
    again = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['again'], 'retry_count' => 2,
                                 'failed_at' => Time.now.to_f - 30)
    dies = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['dies'], 'retry' => 0)
    r[:rf_count] = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['count'], 'retry' => 1,
                                        'retry_count' => 4, 'retry_for' => 86_400, 'failed_at' => Time.now.to_f - 5)
    r[:rf_late] = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['late'], 'retry_for' => 60,
                                       'retry_count' => 0, 'failed_at' => Time.now.to_f - 3600)
    Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['metrics'], 'retry' => false)
    Sidekiq::Client.push('class' => 'Scotty::Diag::Noop', 'args' => [])
    Sidekiq::Client.push('class' => 'Scotty::Diag::Enqueue', 'args' => ['Scotty::Diag::Noop', 'parked', [7]])
    wait_until(20, "the seven jobs to finish\n#{s.log}") do
      @redis.llen('queue:default').zero? && @redis.zcard('retry') + @redis.zcard('dead') == 5 &&
        @redis.llen('queue:parked') == 1
    end
    sleep_jid = Sidekiq::Client.push('class' => 'Scotty::Diag::Sleep', 'args' => [20_000])
    wait_until(20, 'the sleep job in the work hash and counted in a beat') do
      @redis.hlen("#{id}:work") == 1 && @redis.hget(id, 'busy') == '1' && @redis.get('stat:failed').to_i == 6
    end
    r[:sleep_raw] = JSON.parse(@redis.hvals("#{id}:work")[0])['payload']
    r[:sleep_jid] = sleep_jid
    r[:processes] = @redis.smembers('processes')
    r[:hash] = @redis.hgetall(id)
    r[:ttl] = @redis.ttl(id)
    r[:info] = JSON.parse(r[:hash]['info'])
    r[:work] = @redis.hgetall("#{id}:work")
    r[:work_ttl] = @redis.ttl("#{id}:work")
    r[:work_value] = JSON.parse(r[:work].values[0])
    r[:workers] = @redis.hgetall("#{id}:workers")
    r[:metrics_keys] = @redis.scan_each(match: 'j|*').to_a + @redis.scan_each(match: 'h|*').to_a +
                       @redis.scan_each(match: '*-marks').to_a
    r[:pushed] = JSON.parse(@redis.lindex('queue:parked', 0))
    r[:queues] = @redis.smembers('queues')
    entries = @redis.zrange('retry', 0, -1, with_scores: true).map { |j, sc| [JSON.parse(j), sc] }
    r[:retry], r[:retry_score] = entries.find { |j, _| j['jid'] == first }
    r[:again], r[:again_score] = entries.find { |j, _| j['jid'] == again }
    r[:retry_jids] = entries.map { |j, _| j['jid'] }
    dead = @redis.zrange('dead', 0, -1, with_scores: true).map { |j, sc| [JSON.parse(j), sc] }
    r[:dead], r[:dead_score] = dead.find { |j, _| j['jid'] == dies }
    r[:dead_jids] = dead.map { |j, _| j['jid'] }
    r[:processed] = @redis.get('stat:processed').to_i
    r[:failed] = @redis.get('stat:failed').to_i
    r[:daily_ttl] = @redis.ttl("stat:processed:#{Time.now.utc.strftime('%Y-%m-%d')}")
    r.merge!(metrics_records(t0))
    r[:pid] = s.pid
    r
  end

  def check(v)
    r = records(v)
    misses = TABLE.select { |_, versions, _, _, _| versions.include?(v) }.filter_map do |section, _, what, get, want|
      want = r[:pid] if want == :pid
      got = begin
        get.(r)
      rescue StandardError => e
        "#{e.class}: #{e.message}"
      end
      "§#{section} #{what}: expected #{want.inspect}, got #{got.inspect}" unless got == want
    end
    assert_empty misses, "Sidekiq #{v} readers:\n#{misses.join("\n")}"
  end

  def test_sidekiq_6_readers
    check(6)
  end

  def test_sidekiq_7_readers
    check(7)
  end

  def test_sidekiq_8_readers
    check(8)
  end
end
