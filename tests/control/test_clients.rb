# test_clients.rb -- misbehaving control clients: garbage, malformed JSON, an
# oversized line, silent and half-open clients, too many clients. Each gets a
# JSON error and is dropped, while jobs keep running and others are served.
require_relative 'control_helper'

class ControlClientsTest < ControlTest
  # Reads until the server closes; returns every line it sent.
  def read_to_close(sock)
    lines = []
    Timeout.timeout(30) { while (l = sock.gets) do lines << l end }
    lines.map { |l| JSON.parse(l) }
  end

  def assert_dropped_with(sock, pattern)
    replies = read_to_close(sock)
    refute_empty replies, 'dropped without an error line'
    assert_equal false, replies.last['ok']
    assert_match pattern, replies.last['error']
  ensure
    sock.close
  end

  def test_bad_requests_are_answered_and_dropped
    start_scotty('-c', '2', '--control', @sock)
    s = UNIXSocket.new(@sock)
    s.write("hello world!\n")
    assert_dropped_with(s, /malformed request/)

    s = UNIXSocket.new(@sock)
    s.write("{\"cmd\": \"stats\"\n")
    assert_dropped_with(s, /malformed JSON request/)

    s = UNIXSocket.new(@sock)
    s.write("{\"command\":\"stats\"}\n")
    assert_dropped_with(s, /no "cmd" string/)

    s = UNIXSocket.new(@sock)
    s.write('{"cmd":"stats","pad":"' + ('x' * 5000) + "\"}\n")
    assert_dropped_with(s, /longer than 4096 bytes/)

    # Several requests on one connection are all answered, in order.
    UNIXSocket.open(@sock) do |c|
      c.write("stats\nbusy\n{\"cmd\":\"queues\"}\n")
      assert_equal %w[stats busy queues], Array.new(3) { JSON.parse(c.gets)['cmd'] }
    end
  end

  def test_slow_and_half_open_clients_do_not_block_jobs
    start_scotty('-c', '2', '--control', @sock)
    slow = UNIXSocket.new(@sock)
    slow.write('{"cmd":"sta') # never finished
    silent = UNIXSocket.new(@sock) # connects, says nothing
    half = UNIXSocket.new(@sock)
    half.write('stats') # no newline, then closes its sending side
    half.close_write

    # Meanwhile jobs run and other clients are served.
    push('Scotty::Diag::Noop', [], n: 20)
    wait_until(20, 'the jobs to run while slow clients hang on') { stats['processed'] == 20 }
    assert_equal 0, request('busy')['jobs'].size

    assert_dropped_with(slow, /timed out waiting for a complete request line/)
    assert_dropped_with(silent, /timed out/)
    # The half-open client's unfinished line is dropped with it.
    assert_empty read_to_close(half).reject { |r| r['ok'] == false }, 'an unfinished line was answered'
    half.close
    assert_equal true, stats['ok']
  end

  def test_too_many_clients
    start_scotty('-c', '1', '--control', @sock)
    held = Array.new(32) { UNIXSocket.new(@sock) }
    extra = UNIXSocket.new(@sock)
    assert_dropped_with(extra, /too many control clients/)
    held.each(&:close)
    wait_until(10, 'a free slot after the others closed') do
      stats['ok']
    rescue EOFError, Errno::ECONNRESET, Minitest::Assertion, JSON::ParserError
      false
    end
  end
end
