# test_breaker.rb -- the per-host circuit breaker: a host that never answers holds at
# most half the processor threads while the other deliveries to it fail fast (and are
# retried later), healthy hosts keep being served meanwhile; a host that has not
# answered yet gets 4 requests in flight, not half the threads; `threshold`
# consecutive failures open the circuit, and after the cool-off one probe closes it.
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

    # more failures in a row open the circuit
    (THRESHOLD - hung).times do |i|
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
    # the ones beyond the 4 wait for an answer, and are refused once the host stalls
    wait_until(30, "8 deliveries to the dead host refused\n#{s.log}") { retries.size == dead.size - 4 }
    assert_equal 4, received.count { |r| r['host'] == '127.0.0.8' }, 'four in flight, not half of 20 threads'
    assert(retries.all? { |j, _| dead.include?(j['jid']) && j['error_class'] == 'Stoplight::Error::RedLight' })
  end
end
