# test_requeue_private.rb -- leaving scotty strands no job. A scotty killed with kill -9
# while it holds jobs leaves them in its private list, where Ruby Sidekiq never looks:
# `scotty status` shows that list, and `scotty requeue-private` puts its jobs back at
# the front of the queue, in the order they were in, each once. The list of a process
# that still has a heartbeat is left unless the operator says yes on the terminal or
# gives --force; a key of the wrong type stops the whole run before anything moves.
require_relative 'helper'
require 'open3'
require 'pty'

class RequeuePrivateTest < ScottyTest
  NONCE = '0123456789ab'.freeze

  # Runs `scotty ARGS` with stdin a pipe (not a terminal); returns [stdout, stderr, status].
  def cli(*args, env: { 'REDIS_URL' => @redis_server.url })
    out, err, st = Open3.capture3(env.merge('ASAN_OPTIONS' => 'detect_leaks=1'), Harness::SCOTTY, *args,
                                  stdin_data: '')
    refute_match(/AddressSanitizer|LeakSanitizer|runtime error:/, err)
    [out, err, st]
  end

  def identity_of(scotty)
    id = @redis.smembers('processes').find { |i| i.include?(":#{scotty.pid}:") }
    refute_nil id
    id
  end

  def busy?(scotty, n, of)
    File.read("/proc/#{scotty.pid}/cmdline").include?("[#{n} of #{of} busy]")
  end

  def test_dead_process_jobs_go_back_first_in_line
    Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Hang', 'args' => Array.new(12) { [600_000] })
    before = @redis.lrange('queue:default', 0, -1)
    assert_equal 12, before.uniq.size

    s = start_scotty('-c', '2', '--prefetch', '3')
    id = identity_of(s)
    priv = "queue:scotty|#{id}|default"
    wait_until(20, "two jobs to run\n#{s.log}") { busy?(s, 2, 2) }
    s.kill9
    @redis.del(id) # its heartbeat expires 60 s after the kill
    held = @redis.llen(priv)
    assert_operator held, :>=, 2, 'the killed process held the jobs it ran'
    assert_operator @redis.llen('queue:default'), :>, 0, 'and some jobs were still in the queue'
    assert_equal 12, held + @redis.llen('queue:default')

    out, err, st = cli('status')
    assert st.success?, err
    assert_match(/^default\s+#{held}\s+gone\s+#{Regexp.escape(id)}\s+#{Regexp.escape(priv)}$/, out)
    assert_match(/1 private list\(s\), #{held} job\(s\); 1 list\(s\) of processes whose heartbeat is gone/, out)

    # A lock the dead process held, recorded as scotty records it: released before its
    # jobs go back, as recovery does, so they do not wait 15 minutes for it.
    token = "#{Time.now}-abc-scotty:#{id}"
    @redis.set('lock:create:https://a.example/1', token)
    @redis.hset("scotty:locks:#{id}", 'lock:create:https://a.example/1', token)

    out, err, st = cli('requeue-private', '--dry-run')
    assert st.success?, err
    assert_match(/would move #{held} job\(s\) from #{Regexp.escape(priv)} to the front of queue:default/, out)
    assert_equal held, @redis.llen(priv), 'a dry run moves nothing'
    assert_equal token, @redis.get('lock:create:https://a.example/1')

    out, err, st = cli('requeue-private')
    assert st.success?, "#{out}\n#{err}"
    assert_match(/moved #{held} job\(s\) from #{Regexp.escape(priv)} to the front of queue:default/, out)
    assert_equal before, @redis.lrange('queue:default', 0, -1),
                 'every job is back where it was: the oldest next in line, none twice'
    assert_equal 0, @redis.exists(priv)
    refute @redis.hexists('scotty:fetchers', id), 'the dead process left the recovery registry'
    assert_equal 0, @redis.exists('lock:create:https://a.example/1'), "its lock is released\n#{err}"
    assert_match(/released 1 lock\(s\) held by process #{Regexp.escape(id)}/, err)
    assert_equal 12, Sidekiq::Queue.new('default').size

    out, = cli('status')
    assert_match(/^No scotty private lists in Redis at .*: nothing left to requeue\.$/, out)
  end

  # Runs requeue-private on a terminal, answering each [y/N] question in turn; returns
  # [everything it wrote, exit status].
  def requeue_on_terminal(answers)
    env = { 'REDIS_URL' => @redis_server.url, 'ASAN_OPTIONS' => 'detect_leaks=1' }
    seen = +''
    PTY.spawn(env, Harness::SCOTTY, 'requeue-private') do |r, w, pid|
      answers.each_with_index do |a, i|
        Timeout.timeout(30) { seen << r.readpartial(4096) until seen.scan('[y/N] ').size > i }
        w.write("#{a}\n")
      end
      begin
        loop { seen << r.readpartial(4096) }
      rescue EOFError, Errno::EIO
        nil
      end
      _, st = Process.wait2(pid)
      return [seen, st]
    end
  end

  def test_live_process_lists_need_a_yes_or_force
    Sidekiq::Client.push('class' => 'Scotty::Diag::Hang', 'queue' => 'a', 'args' => [600_000])
    Sidekiq::Client.push('class' => 'Scotty::Diag::Hang', 'queue' => 'b', 'args' => [600_000])
    s = start_scotty('-c', '2', '-q', 'a', '-q', 'b', '-t', '1')
    id = identity_of(s)
    wait_until(20, "both jobs to run\n#{s.log}") { busy?(s, 2, 2) }
    s.signal('TSTP') # quiet: it fetches nothing more, so what moves back stays in the queues
    wait_until(20, 'the quiet flag in the heartbeat') { @redis.hget(id, 'quiet') == 'true' }
    # and its fetchers' last 2 s BLMOVEs are over, so none takes what moves back
    wait_until(20, 'no blocked fetch') { @redis.info('clients')['blocked_clients'].to_i.zero? }
    pa = "queue:scotty|#{id}|a"
    pb = "queue:scotty|#{id}|b"
    assert_equal [1, 1], [@redis.llen(pa), @redis.llen(pb)]

    out, = cli('status')
    assert_match(/^a\s+1\s+alive\s+#{Regexp.escape(id)}\s+#{Regexp.escape(pa)}$/, out)

    # Without a terminal: the dead process's list moves, the live one's are left.
    ghost = "queue:scotty|ghost:1:#{NONCE}|c"
    @redis.rpush(ghost, %w[g2 g1])
    out, err, st = cli('requeue-private')
    assert_equal 1, st.exitstatus, "#{out}\n#{err}"
    assert_match(/left #{Regexp.escape(pa)} \(1 job\(s\)\): process #{Regexp.escape(id)} still has a heartbeat/, err)
    assert_match(/give --force \(stdin is not a terminal, so scotty cannot ask\)/, err)
    assert_match(/moved 2 job\(s\) from #{Regexp.escape(ghost)}/, out)
    assert_match(/^2 private list\(s\) with 2 job\(s\) left/, out)
    assert_equal [1, 1, 0, 0], [@redis.llen(pa), @redis.llen(pb), @redis.llen('queue:a'), @redis.llen('queue:b')]
    assert_equal %w[g2 g1], @redis.lrange('queue:c', 0, -1)

    seen, st = requeue_on_terminal(%w[n y])
    assert_equal 1, st.exitstatus, seen
    assert_match(/Process #{Regexp.escape(id)} still has a heartbeat.*#{Regexp.escape(pa)}/m, seen)
    assert_match(/moved 1 job\(s\) from #{Regexp.escape(pb)}/, seen)
    assert_equal [1, 0, 0, 1], [@redis.llen(pa), @redis.llen(pb), @redis.llen('queue:a'), @redis.llen('queue:b')]

    out, err, st = cli('requeue-private', '--force')
    assert st.success?, "#{out}\n#{err}"
    assert_match(/moved 1 job\(s\) from #{Regexp.escape(pa)} to the front of queue:a \(process #{Regexp.escape(id)}, alive\)/,
                 out)
    assert_equal [0, 0, 1, 1], [@redis.llen(pa), @redis.llen(pb), @redis.llen('queue:a'), @redis.llen('queue:b')]
    assert_equal ['Scotty::Diag::Hang'], Sidekiq::Queue.new('a').map(&:klass)
    assert @redis.hexists('scotty:fetchers', id), 'a live process stays registered'
    s.kill9
  end

  # The worker's Redis settings, Sentinel included: Mastodon's REDIS_SENTINELS and
  # REDIS_SENTINEL_MASTER, no URL.
  def test_redis_through_a_sentinel
    dir = Dir.mktmpdir('scotty-sentinel')
    port = Harness.free_port
    File.write(File.join(dir, 'sentinel.conf'),
               "port #{port}\nbind 127.0.0.1\ndir #{dir}\nsentinel monitor mymaster 127.0.0.1 #{@redis_server.port} 1\n")
    pid = Process.spawn('redis-server', File.join(dir, 'sentinel.conf'), '--sentinel',
                        '--logfile', File.join(dir, 'sentinel.log'))
    wait_until(10, 'the sentinel to answer') do
      Redis.new(host: '127.0.0.1', port: port).call('SENTINEL', 'get-master-addr-by-name', 'mymaster')
    rescue SystemCallError, Redis::BaseConnectionError
      false
    end
    priv = "queue:scotty|ghost:1:#{NONCE}|default"
    @redis.rpush(priv, %w[j2 j1])
    env = { 'REDIS_SENTINELS' => "127.0.0.1:#{port}", 'REDIS_SENTINEL_MASTER' => 'mymaster' }
    out, err, st = cli('status', env: env)
    assert st.success?, err
    assert_match(/^default\s+2\s+gone\s+ghost:1:#{NONCE}\s+#{Regexp.escape(priv)}$/, out)
    assert_match(/Sidekiq's Redis is .*from REDIS_SENTINELS/, err)
    _, err, st = cli('requeue-private', env: env)
    assert st.success?, err
    assert_equal %w[j2 j1], @redis.lrange('queue:default', 0, -1)
  ensure
    Harness.stop_process(pid) if pid
    FileUtils.rm_rf(dir) if dir
  end

  # A managed Redis's terms, as test_acl_user.rb's: no administrative or dangerous
  # command (SCAN is neither), nothing in Redis's ACL log.
  def test_as_a_restricted_acl_user
    @redis_server.acl_user('ops', 'pw', '+@all', '-@admin', '-@dangerous', '+info')
    @redis.call('ACL', 'LOG', 'RESET')
    priv = "queue:scotty|ghost:1:#{NONCE}|default"
    @redis.rpush(priv, %w[j2 j1])
    env = { 'REDIS_HOST' => '127.0.0.1', 'REDIS_PORT' => @redis_server.port.to_s, 'REDIS_USER' => 'ops',
            'REDIS_PASSWORD' => 'pw' }
    out, err, st = cli('status', env: env)
    assert st.success?, err
    assert_match(/^default\s+2\s+gone\s/, out)
    _, err, st = cli('requeue-private', env: env)
    assert st.success?, err
    assert_equal %w[j2 j1], @redis.lrange('queue:default', 0, -1)
    assert_empty @redis.call('ACL', 'LOG')
  end

  def test_unreachable_redis_and_bad_usage
    port = Harness.free_port # nothing listens there
    _, err, st = cli('status', env: { 'REDIS_URL' => "redis://127.0.0.1:#{port}/0" })
    assert_equal 1, st.exitstatus
    assert_match(/scotty status: cannot reach Sidekiq's Redis at redis:\/\/127\.0\.0\.1:#{port}/, err)
    _, err, st = cli('requeue-private', env: { 'REDIS_URL' => "redis://127.0.0.1:#{port}/0" })
    assert_equal 1, st.exitstatus
    assert_match(/scotty requeue-private: cannot reach Sidekiq's Redis/, err)

    _, err, st = cli('status', '--force')
    assert_equal 2, st.exitstatus
    assert_match(/unknown or incomplete option '--force'/, err)
    _, err, st = cli('requeue-private', 'now')
    assert_equal 2, st.exitstatus
    assert_match(/unexpected argument 'now'/, err)
    out, _, st = cli('requeue-private', '--help')
    assert st.success?
    assert_match(/usage: scotty requeue-private \[--force\] \[--dry-run\]/, out)
    out, _, st = cli('--help')
    assert st.success?
    assert_match(/^  scotty status: /, out)
    assert_match(/^  scotty requeue-private \[--force\] \[--dry-run\]: /, out)
  end

  def test_wrong_type_moves_nothing
    good = "queue:scotty|ghost:1:#{NONCE}|default"
    bad = "queue:scotty|ghost:2:#{NONCE}|default"
    jobs = Array.new(2) { |i| { 'class' => 'Scotty::Diag::Noop', 'jid' => "j#{i}", 'args' => [] }.to_json }
    @redis.rpush(good, jobs)
    @redis.set(bad, 'not a list')

    out, err, st = cli('status')
    assert st.success?, err
    assert_match(/^default\s+\(string\)\s+gone\s+ghost:2:#{NONCE}\s+#{Regexp.escape(bad)}$/, out)
    assert_match(/^problem: #{Regexp.escape(bad)} holds a string, not a list/, out)

    _, err, st = cli('requeue-private', '--force')
    assert_equal 1, st.exitstatus
    assert_match(/#{Regexp.escape(bad)} holds a string, not a list/, err)
    assert_match(/nothing was moved: 1 key\(s\) of the wrong type/, err)
    assert_equal jobs, @redis.lrange(good, 0, -1)
    assert_equal 0, @redis.exists('queue:default')

    @redis.del(bad)
    @redis.set('queue:default', 'not a list either')
    _, err, st = cli('requeue-private')
    assert_equal 1, st.exitstatus
    assert_match(/queue:default holds a string, not a list, so the 2 job\(s\) of #{Regexp.escape(good)} cannot go back/,
                 err)
    assert_equal jobs, @redis.lrange(good, 0, -1)

    @redis.del('queue:default')
    out, err, st = cli('requeue-private')
    assert st.success?, "#{out}\n#{err}"
    assert_equal jobs, @redis.lrange('queue:default', 0, -1)
  end
end
