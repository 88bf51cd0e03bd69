# test_breaker.rb -- the per-host circuit breaker: a host that never answers holds at
# most half the processor threads while the other deliveries to it fail fast (and are
# retried later), healthy hosts keep being served meanwhile; a host that has not
# answered yet gets 4 requests in flight, not half the threads; one that answers gets
# any number, and once it goes silent all but one are cut off and retried, long
# before their read timeout; `threshold` consecutive failures open the circuit, and
# after the cool-off one probe closes it.
require_relative 'delivery_helper'

class TestBreaker < DeliveryTest
  THRESHOLD = 3
  COOLOFF = 3

  def breaker_env
    { 'SCOTTY_DELIVERY_BREAKER_THRESHOLD' => THRESHOLD.to_s, 'SCOTTY_DELIVERY_BREAKER_COOLOFF' => COOLOFF.to_s }
  end

  def test_dead_host_fails_fast_and_recovers_after_cooloff
    s = start_delivery_scotty(breaker_env)
    dead = (1..10).map { |i| deliver(inbox_url('127.0.0.8', "/hang/#{i}")) }
    healthy = (1..10).map { |i| deliver(inbox_url('127.0.0.1', "/inbox/#{i}")) }
    wait_until(30, "the healthy deliveries\n#{s.log}") do
      received.count { |r| r['host'] == '127.0.0.1' } == healthy.size
    end
    wait_idle
    hung = received.count { |r| r['host'] == '127.0.0.8' }
    assert_operator hung, :>=, 1, 'the dead host was tried'
    assert_operator hung, :<=, 2, 'no more than half of the 4 threads wait on a host that never answers'
    in_retry = retries.to_h { |j, _| [j['jid'], j] }
    assert_equal dead.sort, in_retry.keys.sort, 'every delivery to the dead host is retried, no other'
    classes = in_retry.values.map { |j| j['error_class'] }.uniq.sort
    assert_includes classes, 'Stoplight::Error::RedLight', 'some failed fast'
    assert_empty classes - ['HTTP::TimeoutError', 'Stoplight::Error::RedLight']
    assert_equal [today], @redis.smembers('exhausted_deliveries:127.0.0.8')

    # more failures in a row open the circuit; a delivery cut off while another one
    # waited on is not one of the host's failures
    counted = in_retry.values.count { |j| j['error_class'] == 'HTTP::TimeoutError' && !j['error_message'].include?('cut off') }
    assert_operator counted, :>=, 1, 'the one that waited on timed out'
    (THRESHOLD - counted).times do |i|
      deliver(inbox_url('127.0.0.8', "/s/503/#{i}"))
      wait_until(10, 'a 503') { received.any? { |r| r['path'] == "/s/503/#{i}" } }
      wait_idle
    end
    assert_match(/circuit for 127\.0\.0\.8 open for #{COOLOFF} s after #{THRESHOLD} consecutive failures/, s.log)

    # open: even a request that would succeed is not sent
    blocked = deliver(inbox_url('127.0.0.8', '/s/202/blocked'))
    wait_until(10, 'the blocked delivery to fail') { retries.any? { |j, _| j['jid'] == blocked } }
    refute(received.any? { |r| r['path'] == '/s/202/blocked' }, 'nothing sent while the circuit is open')

    sleep COOLOFF + 0.5
    deliver(inbox_url('127.0.0.8', '/s/202/probe'))
    wait_until(10, 'the probe after the cool-off') { received.any? { |r| r['path'] == '/s/202/probe' } }
    3.times { |i| deliver(inbox_url('127.0.0.8', "/s/202/after/#{i}")) }
    wait_until(10, 'deliveries after the circuit closed') do
      received.count { |r| r['path'].start_with?('/s/202/after/') } == 3
    end
    wait_idle
    refute @redis.exists?('exhausted_deliveries:127.0.0.8'), 'the success reset the failure tracker'
  end

  def test_a_host_that_never_answered_holds_four_threads
    s = start_delivery_scotty(breaker_env.merge('SCOTTY_HTTP_READ_TIMEOUT' => '60'), concurrency: 20)
    dead = (1..12).map { |i| deliver(inbox_url('127.0.0.8', "/hang/#{i}")) }
    healthy = (1..10).map { |i| deliver(inbox_url('127.0.0.1', "/inbox/#{i}")) }
    wait_until(30, "the healthy deliveries\n#{s.log}") do
      received.count { |r| r['host'] == '127.0.0.1' } == healthy.size
    end
    # the ones beyond the 4 wait for an answer and are refused once the host stalls;
    # 3 s later three of the four in flight are cut off, one waits on
    wait_until(30, "11 deliveries to the dead host refused or cut off\n#{s.log}") { retries.size == dead.size - 1 }
    assert_equal 4, received.count { |r| r['host'] == '127.0.0.8' }, 'four in flight, not half of 20 threads'
    assert(retries.all? { |j, _| dead.include?(j['jid']) })
    by_class = retries.map { |j, _| j }.group_by { |j| j['error_class'] }.transform_values(&:size)
    assert_equal({ 'Stoplight::Error::RedLight' => 8, 'HTTP::TimeoutError' => 3 }, by_class)
    cut = retries.map { |j, _| j }.select { |j| j['error_class'] == 'HTTP::TimeoutError' }
    assert(cut.all? { |j| j['error_message'].include?('cut off: 127.0.0.8 has answered none of its') }, cut.inspect)
    wait_until(15, 'scotty to report the one that waits on for its read timeout') { Sidekiq::Workers.new.size == 1 }
  end

  # A host that answered has no cap: every thread may deliver to it. When it goes
  # silent, one delivery waits on and the others are cut off, so the threads serve
  # other hosts again long before the 60 s read timeout.
  def test_a_host_that_goes_silent_gives_back_all_threads_but_one
    control = File.join(@tmp, 'ctl.sock')
    s = start_delivery_scotty(breaker_env.merge('SCOTTY_HTTP_READ_TIMEOUT' => '60'), '--control', control,
                              concurrency: 11)
    # one answer, 800 ms after its request came (before the 1 s that would make the host
    # suspect): the others, sent meanwhile, wait for it at the cap of 4, then all go
    deliver(inbox_url('127.0.0.3', '/slow/800/inbox'))
    wait_until(10, "the first request to arrive\n#{s.log}") { received.any? { |r| r['path'] == '/slow/800/inbox' } }
    silent = (1..10).map { |i| deliver(inbox_url('127.0.0.3', "/hang/#{i}")) }
    wait_until(30, "all 10 deliveries in flight once the host answered\n#{s.log}") do
      received.count { |r| r['path'].start_with?('/hang/') } == silent.size
    end
    wait_until(30, "9 of them cut off\n#{s.log}") { retries.size == silent.size - 1 }
    assert(retries.all? { |j, _| silent.include?(j['jid']) && j['error_class'] == 'HTTP::TimeoutError' })
    assert(retries.all? { |j, _| j['error_message'].include?('cut off: 127.0.0.3 has answered none') })
    metrics = UNIXSocket.open(control) { |u| u.write("metrics\n") && JSON.parse(u.gets)['text'] }
    assert_match(/^scotty_delivery_cut_offs_total 9$/, metrics)
    healthy = (1..5).map { |i| deliver(inbox_url('127.0.0.4', "/inbox/#{i}")) }
    wait_until(30, "the deliveries to another host, while one thread still waits\n#{s.log}") do
      received.count { |r| r['host'] == '127.0.0.4' } == healthy.size
    end
    wait_until(15, 'scotty to report the one that waits on') { Sidekiq::Workers.new.size == 1 }
    assert_equal [today], @redis.smembers('exhausted_deliveries:127.0.0.3'), 'the cut ones count as failed days'
  end

  # A host that answered and then failed once stays in the breaker's table while idle;
  # its next deliveries start a new wait, they are not taken for a host silent since
  # its last answer.
  def test_an_idle_host_kept_for_its_failure_is_not_taken_for_a_silent_one
    s = start_delivery_scotty(breaker_env, concurrency: 4)
    deliver(inbox_url('127.0.0.5', '/inbox/first'))
    failed = deliver(inbox_url('127.0.0.5', '/s/503/once'))
    wait_until(10, "the 503\n#{s.log}") { retries.any? { |j, _| j['jid'] == failed } }
    wait_idle
    sleep 3.5 # past the cut-off's 3 s since the host's last answer
    later = (1..3).map { |i| deliver(inbox_url('127.0.0.5', "/slow/300/#{i}")) }
    wait_until(20, "the three deliveries\n#{s.log}") do
      received.count { |r| r['path'].start_with?('/slow/300/') } == later.size
    end
    wait_idle
    assert_equal [failed], retries.map { |j, _| j['jid'] }, 'none of the three refused or cut off'
  end
end
