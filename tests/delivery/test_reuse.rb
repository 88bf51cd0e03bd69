# test_reuse.rb -- what deliveries share between jobs: TCP connections to an inbox
# are kept alive and reused (the inbox counts the connections it accepted), and a
# delivery waiting for an inbox holds no database connection, so with a pool of one
# a host that never answers does not stop deliveries to the others.
require_relative 'delivery_helper'
require 'net/http'

class TestReuse < DeliveryTest
  def inbox_stats
    JSON.parse(Net::HTTP.get(URI(inbox_url('127.0.0.1', '/_stats'))))
  end

  def test_connections_are_kept_alive_across_deliveries
    threads = 4
    start_delivery_scotty(concurrency: threads)
    30.times { |i| deliver(inbox_url('127.0.0.1', "/inbox/#{i}")) }
    wait_until(30, 'the 30 deliveries') { received.size == 30 }
    wait_idle
    assert(received.all? { |r| r['sig_error'].nil? }, 'every request was signed correctly')
    connections = inbox_stats['connections']
    assert_operator connections, :>=, 1
    assert_operator connections, :<=, threads, 'at most one connection per thread: the others were reused'
  end

  # More requests in flight than libcurl keeps connections by default (64), over
  # several hosts: each finished request must still leave its connection open.
  def test_connections_are_kept_alive_with_many_threads
    threads = 100
    start_delivery_scotty(concurrency: threads)
    hosts = ADDRESSES.first(5)
    600.times { |i| deliver(inbox_url(hosts[i % hosts.size], "/slow/500/inbox/#{i}")) }
    wait_until(120, 'the 600 deliveries') { received.size == 600 }
    wait_idle
    connections = inbox_stats['connections']
    assert_operator connections, :<=, threads * 3 / 2,
                    "#{connections} connections for 600 deliveries: they were not kept alive"
  end

  def test_waiting_for_an_inbox_holds_no_database_connection
    s = start_delivery_scotty({ 'DB_POOL' => '1', 'SCOTTY_HTTP_READ_TIMEOUT' => '60' }, concurrency: 4)
    deliver(inbox_url('127.0.0.8', '/hang/inbox'))
    wait_until(20, "the dead host to get its request\n#{s.log}") { received.any? { |r| r['host'] == '127.0.0.8' } }
    healthy = (1..5).map { |i| deliver(inbox_url('127.0.0.1', "/inbox/#{i}")) }
    wait_until(30, "the healthy deliveries\n#{s.log}") do
      received.count { |r| r['host'] == '127.0.0.1' } == healthy.size
    end
    # the dead host's job is neither queued, retried nor dead: still waiting for its answer
    assert_equal 0, @redis.llen('queue:push')
    assert_equal 0, @redis.zcard('retry') + @redis.zcard('dead'),
                 'nothing has failed: the healthy ones did not wait for its timeout'
    assert_match(/up to 1 connections opened on demand/, s.log)
  end
end
