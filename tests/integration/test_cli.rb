# test_cli.rb -- flags, environment, sidekiq.yml, signals and TLS to Redis.
require_relative 'helper'
require 'open3'

class CliTest < ScottyTest
  def run_scotty(*args, env: {})
    out, status = Open3.capture2e({ 'REDIS_URL' => @redis_server.url }.merge(env), Harness::SCOTTY,
                                  *args)
    [out, status]
  end

  # (An unreachable Redis is waited for: test_startup_outage.rb.)
  def test_bad_flags_give_one_clear_line
    out, st = run_scotty('--bogus')
    assert_equal 2, st.exitstatus
    assert_equal 1, out.lines.size, out
    assert_match(/unknown or incomplete option '--bogus'/, out)

    out, st = run_scotty('-c', 'lots')
    assert_equal 2, st.exitstatus
    assert_match(/-c \(concurrency\) must be an integer/, out)

    out, st = run_scotty('-q', 'x' * 200)
    assert_equal 2, st.exitstatus
    assert_match(/queue name 'x+\.\.\.' is 200 bytes long; at most 127 are allowed/, out)

    out, st = run_scotty(env: { 'DYNO' => 'd' * 300 })
    assert_equal 1, st.exitstatus
    assert_match(/DYNO is 300 bytes long; a process identity allows at most 231: set a shorter DYNO/, out)
  end

  def test_config_file_with_environment_section_and_mastodon_env
    dir = Dir.mktmpdir('scotty-yml')
    path = File.join(dir, 'sidekiq.yml')
    File.write(path, <<~YAML)
      :concurrency: 3
      :queues:
        - [default, 8]
        - [push, 6]
        - ingress
      production:
        :concurrency: 4
        :tag: from-yaml
    YAML
    start_scotty('-C', path, env: { 'RAILS_ENV' => 'production', 'REDIS_URL' => nil,
                                    'REDIS_HOST' => '127.0.0.1', 'REDIS_PORT' => @redis_server.port.to_s })
    p = Sidekiq::ProcessSet.new.first
    assert_equal 4, p['concurrency']
    assert_equal 'from-yaml', p['tag']
    assert_equal %w[default push ingress], p['queues']
    assert_equal [{ 'default' => 8, 'push' => 6, 'ingress' => 0 }], p['weights']

    File.write(path, ":concurrency: <%= ENV['X'] %>\n")
    out, st = run_scotty('-C', path)
    assert_equal 2, st.exitstatus
    assert_match(/contains ERB/, out)
  ensure
    FileUtils.rm_rf(dir) if dir
  end

  def test_signals_quiet_dump_and_stop
    s = start_scotty('-c', '2')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Sleep', 'args' => [1500])
    wait_until(10, 'the job to start') { File.read("/proc/#{s.pid}/cmdline").include?('[1 of 2 busy]') }
    s.signal('TTIN')
    wait_until(10, 'a thread dump') { s.log.include?('thread dump') }
    s.signal('TSTP')
    wait_until(10, 'quiet') { s.log.include?('quiet: no new jobs') }
    wait_for_quiet(s)
    push_marks('late', 2)
    wait_for_beats(s)
    assert_equal 0, @redis.llen('late'), 'a quiet process fetches nothing'
    assert_equal 2, Sidekiq::Queue.new('default').size, 'the jobs wait in their queue'
    st = s.stop
    assert st.success?
    assert_equal 2, Sidekiq::Queue.new('default').size
    wait_until(5, 'the slept job counted') { Sidekiq::Stats.new.processed == 1 }
    assert_match(/INFO: class=Scotty::Diag::Sleep jid=\h{24} queue=default elapsed=1\.\d{3} done$/, s.log)
  end

  def test_systemd_notify_and_process_title
    dir = Dir.mktmpdir('scotty-notify')
    path = File.join(dir, 'notify.sock')
    sock = Socket.new(:UNIX, :DGRAM)
    sock.bind(Socket.sockaddr_un(path))
    s = start_scotty('-c', '2', '-g', 'exec', env: { 'NOTIFY_SOCKET' => path, 'WATCHDOG_USEC' => '1000000' })
    messages = []
    wait_until(10, "READY, STATUS and WATCHDOG messages, got #{messages.inspect}") do
      messages << sock.recv(512) while IO.select([sock], nil, nil, 0.1)
      %w[READY=1 STATUS= WATCHDOG=1].all? { |m| messages.any? { |x| x.start_with?(m) } }
    end
    assert(messages.any? { |m| m =~ /\ASTATUS=0 of 2 busy, \d+ processed, \d+ failed\z/ }, messages.inspect)
    title = File.read("/proc/#{s.pid}/cmdline").tr("\0", ' ').strip
    assert_equal 'scotty 0.1.0 exec [0 of 2 busy]', title
    s.stop
    messages << sock.recv(512) while IO.select([sock], nil, nil, 0.1)
    assert_includes messages, 'STOPPING=1'
  ensure
    sock&.close
    FileUtils.rm_rf(dir) if dir
  end

  def test_weighted_queues_share_and_strict_queues_starve
    push_marks('order', 300, queue: 'a')
    push_marks('order', 300, queue: 'b')
    weighted = start_scotty('-c', '1', '--fetch', 'basic', '-q', 'a,3', '-q', 'b,1')
    wait_until(30, 'all weighted jobs') { @redis.llen('order') == 600 }
    assert weighted.stop.success?
    first = @redis.lrange('order', 0, 199)
    share = first.count { |m| m.start_with?('a-') } / 200.0
    assert_in_delta 0.75, share, 0.1, 'weight 3:1 gives queue a about 3/4 of the first picks'

    # Strict order, per pick: one processor takes every job of a before any of b, also
    # while a's prefetched buffer is momentarily empty and b's is full.
    %w[reliable basic].each do |fetch|
      @redis.del('order')
      push_marks('order', 100, queue: 'b')
      push_marks('order', 100, queue: 'a')
      s = start_scotty('-c', '1', '--fetch', fetch, '-q', 'a', '-q', 'b')
      wait_until(30, "all strict jobs (#{fetch} fetch)") { @redis.llen('order') == 200 }
      assert s.stop.success?
      expected = (1..100).map { |i| "a-#{i}" } + (1..100).map { |i| "b-#{i}" }
      assert_equal expected, @redis.lrange('order', 0, -1), "strict order with #{fetch} fetch: a, then b, in order"
    end
  end
end

class TlsTest < Minitest::Test
  def setup
    @dir = Dir.mktmpdir('scotty-tls')
    Dir.chdir(@dir) do
      sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=scotty-test-ca')
      sh('openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost')
      File.write('ext.cnf', "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
      sh('openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf')
    end
    @port = Harness.free_port
    @server = Harness::RedisServer.new('--port', '0', '--tls-port', @port.to_s,
                                       '--tls-cert-file', "#{@dir}/server.crt",
                                       '--tls-key-file', "#{@dir}/server.key",
                                       '--tls-ca-cert-file', "#{@dir}/ca.crt",
                                       '--tls-auth-clients', 'no', port: @port)
  end

  def teardown
    @scotty&.stop
    @server&.destroy
    FileUtils.rm_rf(@dir)
  end

  def sh(cmd)
    out, st = Open3.capture2e(cmd)
    raise "#{cmd} failed: #{out}" unless st.success?
  end

  def redis_cli(*args)
    out, = Open3.capture2e('redis-cli', '--tls', '--cacert', "#{@dir}/ca.crt", '-p', @port.to_s, *args)
    out.strip
  end

  def test_rediss_with_verified_certificate
    url = "rediss://127.0.0.1:#{@port}/0"
    out, st = Open3.capture2e({ 'REDIS_URL' => url }, Harness::SCOTTY)
    assert_equal 1, st.exitstatus, 'an untrusted certificate is refused by default'
    assert_match(/certificate not trusted/, out)

    redis_cli('LPUSH', 'queue:default', '{"class":"Scotty::Diag::Mark","args":["tls","ok",0],"jid":"00000000000000000000000a","retry":true}')
    @scotty = Harness::Scotty.new(url, '--redis-ca', "#{@dir}/ca.crt", '-c', '1')
    Harness.wait_until(20, "the job over TLS\n#{@scotty.log}") { redis_cli('LRANGE', 'tls', '0', '-1') == 'ok' }
    assert @scotty.stop.success?
    refute_match(/AddressSanitizer|runtime error:/, @scotty.log)
  end

  # A certificate from the trusted CA, but for another host name: refused too.
  def test_rediss_certificate_for_another_host_is_refused
    Dir.chdir(@dir) do
      sh('openssl req -newkey rsa:2048 -nodes -keyout other.key -out other.csr -subj /CN=other.example')
      File.write('other.cnf', "subjectAltName=DNS:other.example\n")
      sh('openssl x509 -req -in other.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out other.crt -days 2 ' \
         '-extfile other.cnf')
    end
    port = Harness.free_port
    other = Harness::RedisServer.new('--port', '0', '--tls-port', port.to_s, '--tls-cert-file', "#{@dir}/other.crt",
                                     '--tls-key-file', "#{@dir}/other.key", '--tls-ca-cert-file', "#{@dir}/ca.crt",
                                     '--tls-auth-clients', 'no', port: port)
    %W[rediss://127.0.0.1:#{port}/0 rediss://localhost:#{port}/0].each do |url|
      out, st = Open3.capture2e({ 'REDIS_URL' => url }, Harness::SCOTTY, '--redis-ca', "#{@dir}/ca.crt", '-c', '1')
      assert_equal 1, st.exitstatus, "#{url}: a certificate for other.example is refused\n#{out}"
      assert_match(/host ?name|IP address|mismatch|does not match/i, out, url)
    end
  ensure
    other&.destroy
  end
end
