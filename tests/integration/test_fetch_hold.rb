# test_fetch_hold.rb -- reliable fetch takes from a queue only what will start soon.
# A job in scotty's hand-off has left queue:NAME, so Sidekiq Web's size and latency
# (what operators autoscale on) no longer count it. While every thread is busy, scotty
# holds at most its reserve (--prefetch, default -c/8, at least 2, 1 at -c 1) waiting for a
# thread; the rest stay in the queue where Web shows them. Also: a SCRIPT FLUSH while
# jobs run costs nothing (the scripts are loaded again), nor a user an ACL refuses SCRIPT.
require_relative 'helper'

class FetchHoldTest < ScottyTest
  # Samples scotty's control socket until every job has run; returns the samples.
  def sample_until_drained(sock, total)
    samples = []
    UNIXSocket.open(sock) do |c|
      wait_until(120, -> { "#{total} jobs to run (ran #{@redis.llen('ran')})" }) do
        c.write("stats\n")
        st = JSON.parse(c.gets)
        samples << st.merge('queue_size' => @redis.llen('queue:default'))
        sleep 0.02
        @redis.llen('ran') == total
      end
    end
    samples
  end

  def push_sleepers(n, ms)
    Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Mark', 'queue' => 'default',
                              'args' => Array.new(n) { |i| ['ran', i.to_s, ms] })
  end

  def run_held_case(extra_args, reserve)
    sock = File.join(Dir.mktmpdir('scotty-hold'), 'ctl.sock')
    start_scotty('-c', '4', '--control', sock, *extra_args)
    push_sleepers(40, 150)
    samples = sample_until_drained(sock, 40)
    busy_all = samples.select { |s| s['busy'] == 4 && s['queue_size'] > 0 }
    refute_empty busy_all, 'some samples saw all 4 threads busy with jobs left in the queue'
    max_waiting = samples.map { |s| s['waiting_for_thread'] }.max
    assert_operator max_waiting, :<=, reserve, "jobs held waiting for a thread (reserve #{reserve})"
    samples
  end

  def test_default_reserve_holds_at_most_two_jobs_at_c4
    run_held_case([], 2)
  end

  def test_prefetch_sets_the_reserve
    samples = run_held_case(['--prefetch', '5'], 5)
    assert_operator samples.map { |s| s['waiting_for_thread'] }.max, :>=, 3,
                    '--prefetch 5 holds more than the default reserve of 2 while threads are busy'
  end

  def test_script_flush_while_running_loses_nothing
    s = start_scotty('-c', '4')
    push_sleepers(30, 0)
    wait_until(30, 'the first jobs to run') { @redis.llen('ran') == 30 }
    @redis.script(:flush)
    push_sleepers(30, 0)
    Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['after the flush'])
    wait_until(30, -> { "every job after the flush to run\n#{s.log[-2000..]}" }) do
      @redis.llen('ran') == 60 && @redis.zcard('retry') == 1
    end
    wait_until(30, 'the private list to empty') do
      @redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }.zero?
    end
    assert_equal 60, @redis.lrange('ran', 0, -1).size, 'each job ran once'
    assert s.alive?
  end

  # Scripts are loaded with SCRIPT LOAD; a user an ACL refuses it sends them whole.
  def test_user_without_script_load_sends_scripts_whole
    @redis_server.acl_user('noscript', 'pw', '+@all', '-script')
    s = start_scotty('-c', '4', env: { 'REDIS_URL' => "redis://noscript:pw@127.0.0.1:#{@redis_server.port}/0" })
    push_sleepers(30, 0)
    Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['no SCRIPT for me'])
    wait_until(30, -> { "the jobs to run and the failure to retry\n#{s.log[-2000..]}" }) do
      @redis.llen('ran') == 30 && @redis.zcard('retry') == 1
    end
    wait_until(30, 'the private list to empty') do
      @redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }.zero?
    end
    assert_equal 30, @redis.lrange('ran', 0, -1).size, 'each job ran once'
  end
end
