# test_commands.rb -- every control command against a running scotty, over the raw
# socket and through scottyctl (tables and --json), plus HTTP /metrics, each
# exposition checked by promtool.
require_relative 'control_helper'

class ControlCommandsTest < ControlTest
  def promtool_ok(text)
    out, st = Open3.capture2e('promtool', 'check', 'metrics', stdin_data: text)
    assert st.success?, "promtool check metrics failed:\n#{out}\n--- exposition:\n#{text}"
  end

  def test_every_command
    port = Harness.free_port
    s = start_scotty('-c', '2', '-t', '1', '-q', 'default', '-q', 'low', '-g', 'cmdtest', '--control', @sock,
                     '--metrics-listen', "127.0.0.1:#{port}")
    assert_equal 0o660, File.stat(@sock).mode & 0o777, 'control socket mode'

    push('Scotty::Diag::Noop', [], n: 3)
    push('Scotty::Diag::Fail', ['boom'])
    wait_until(20, 'stats to count 4 processed, 1 failed') do
      st = stats
      st['processed'] == 4 && st['failed'] == 1
    end
    st = stats
    assert_equal true, st['ok']
    assert_equal 2, st['concurrency']
    assert_equal %w[default low], st['queues'].map { |q| q['name'] }
    assert_operator st['rss_kb'], :>, 0
    assert_operator st['uptime'], :>, 0
    noop = st['classes'].find { |c| c['class'] == 'Scotty::Diag::Noop' }
    refute_nil noop, "per-class stats lack Noop: #{st['classes']}"
    assert_equal [3, 0, 'default'], [noop['processed'], noop['failed'], noop['queue']]
    %w[p50 p95 p99].each { |k| assert_kind_of Numeric, noop[k] }
    assert_equal 1, st['classes'].find { |c| c['class'] == 'Scotty::Diag::Fail' }['failed']

    # Two running jobs with progress, as busy and dump show them.
    jids = push('Scotty::Diag::Sleep', [4000], n: 2)
    busy = nil
    wait_until(20, 'both sleep jobs to report progress') do
      busy = request('busy')['jobs']
      busy.size == 2 && busy.all? { |j| j['progress'].is_a?(Integer) && j['progress'] > 0 }
    end
    assert_equal jids.sort, busy.map { |j| j['jid'] }.sort
    assert(busy.all? { |j| j['class'] == 'Scotty::Diag::Sleep' && j['queue'] == 'default' && j['progress'] <= 100 })
    dump = request('{"cmd":"dump"}')
    assert_equal [2, 0], [dump['running'].size, dump['idle']]
    wait_until(10, 'the dump report in the log') { s.log.include?('running class=Scotty::Diag::Sleep') }

    out, err, cst = ctl('-s', @sock, 'busy')
    assert cst.success?, err
    assert_match(/Scotty::Diag::Sleep.*\[[# ]{20}\] +\d+%/, out)
    out, err, cst = ctl('-s', @sock, 'stats')
    assert cst.success?, err
    assert_match(/busy 2 of 2/, out)
    assert_match(/^Scotty::Diag::Noop +default +3 +0 /, out)
    out, err, cst = ctl('-s', @sock, '--json', 'stats')
    assert cst.success?, err
    assert_equal 'stats', JSON.parse(out)['cmd']

    # Metrics: over the socket, through scottyctl and over HTTP, valid for promtool.
    text = request('metrics')['text']
    promtool_ok(text)
    assert_includes text, 'sidekiq_jobs_total{job_name="Scotty::Diag::Noop",queue="default"} 3'
    assert_includes text, 'sidekiq_failed_jobs_total{job_name="Scotty::Diag::Fail",queue="default"} 1'
    assert_match(/^sidekiq_job_duration_seconds\{job_name="Scotty::Diag::Noop",queue="default",quantile="0.99"\} /, text)
    assert_includes text, 'sidekiq_job_duration_seconds_count{job_name="Scotty::Diag::Noop",queue="default"} 3'
    assert_match(/^sidekiq_process_busy\{identity="[^"]+",tag="cmdtest",hostname="[^"]+",quiet="false"\} 2$/, text)
    assert_match(/^sidekiq_process_concurrency\{.*\} 2$/, text)
    assert_match(/^sidekiq_queue_backlog\{queue="low"\} 0$/, text)
    assert_match(/^sidekiq_queue_latency_seconds\{queue="default"\} /, text)
    %w[scotty_uptime_seconds scotty_rss_bytes scotty_redis_rtt_seconds scotty_forwarded_jobs_total
       scotty_recovered_jobs_total].each { |m| assert_match(/^#{m} \d/, text) }
    out, err, cst = ctl('-s', @sock, 'metrics')
    assert cst.success?, err
    promtool_ok(out)
    http = Net::HTTP.get_response(URI("http://127.0.0.1:#{port}/metrics"))
    assert_equal '200', http.code
    assert_match(%r{\Atext/plain; version=0.0.4}, http['Content-Type'])
    promtool_ok(http.body)
    assert_includes http.body, 'sidekiq_jobs_total{job_name="Scotty::Diag::Noop",queue="default"} 3'
    assert_equal '404', Net::HTTP.get_response(URI("http://127.0.0.1:#{port}/other")).code

    # quiet: nothing more is fetched; queues reports what Redis holds.
    out, err, cst = ctl('-s', @sock, 'quiet')
    assert cst.success?, err
    assert_match(/quiet/, out)
    assert_equal true, stats['quiet']
    push('Scotty::Diag::Noop', [], n: 5, queue: 'low')
    @redis.rpush('queue:low', JSON.generate('class' => 'Scotty::Diag::Noop', 'args' => [], 'jid' => 'old1',
                                            'queue' => 'low', 'enqueued_at' => Time.now.to_f - 30))
    # A fetch already in flight when quiet arrived may still take one job; a quiet
    # process gives it straight back, so all six end up in the queue and stay there.
    low = nil
    wait_until(10, -> { "queues to show all 6 jobs (Redis: #{@redis.llen('queue:low')}, queues: #{low.inspect})" }) do
      low = request('queues')['queues'].find { |q| q['name'] == 'low' }
      low['size'] == 6 && @redis.llen('queue:low') == 6
    end
    # Latency is the age of the job at the tail (the 30 s old one, unless a fetch in
    # flight when quiet arrived put it back at the head).
    oldest = JSON.parse(@redis.lindex('queue:low', -1))['enqueued_at']
    assert_in_delta Time.now.to_f - oldest, low['latency'], 5
    out, err, cst = ctl('-s', @sock, 'queues')
    assert cst.success?, err
    assert_match(/^low +0 +#{low['size']} /, out)
    assert_match(/^sidekiq_queue_backlog\{queue="low"\} #{low['size']}$/, request('metrics')['text'])

    # stop: the process exits cleanly and removes its socket.
    reply = request('{"cmd":"stop"}')
    assert_equal [true, true], [reply['ok'], reply['stopping']]
    assert s.wait(40).success?, "scotty did not exit cleanly after stop:\n#{s.log}"
    refute File.exist?(@sock), 'the socket file is left behind after stop'
  end

  def test_unknown_command_and_non_loopback_metrics
    start_scotty('-c', '1', '--control', @sock)
    reply = request('{"cmd":"reboot"}')
    assert_equal false, reply['ok']
    assert_match(/unknown command "reboot"/, reply['error'])
    _, err, st = ctl('-s', @sock, 'frobnicate')
    refute st.success?
    assert_match(/unknown command frobnicate/, err)

    other = File.join(@dir, 'other.sock')
    bad = Harness::Scotty.new(@redis_server.url, '-c', '1', '--control', other, '--metrics-listen', '0.0.0.0:9394')
    @scottys << bad
    st = bad.wait(30)
    refute st.success?, 'scotty served metrics on a non-loopback address'
    assert_match(/not a loopback address/, bad.log)
    refute File.exist?(other), 'a refused start left its socket file'
  end
end

require 'net/http'
