# servers.rb -- real servers for the demo, the benchmarks and the tests: a private
# redis-server on a free loopback port in a temp dir, always stopped by its owner.
require 'socket'
require 'tmpdir'
require 'fileutils'
require 'timeout'
require 'redis'
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

module Harness
  SCOTTY = ENV.fetch('SCOTTY_BIN') { File.expand_path('../../build-test/worker/scotty', __dir__) }

  def self.free_port
    s = TCPServer.new('127.0.0.1', 0)
    port = s.addr[1]
    s.close
    port
  end

  # A private redis-server; extra args are passed through (e.g. TLS, AOF).
  class RedisServer
    attr_reader :port, :dir, :url

    def initialize(*extra, port: Harness.free_port, dir: Dir.mktmpdir('scotty-redis'))
      @port = port
      @dir = dir
      @extra = extra
      @url = "redis://127.0.0.1:#{@port}/0"
      start
    end

    def start
      plain = @extra.include?('--port') ? [] : ['--port', @port.to_s]
      @pid = Process.spawn('redis-server', *plain, '--bind', '127.0.0.1', '--dir', @dir,
                           '--save', '', '--logfile', File.join(@dir, 'redis.log'), *@extra)
      Harness.wait_for(10, "redis-server on port #{@port} to accept connections") do
        ours_listening?(plain.empty?)
      end
    end

    # Ours must be the one answering: after a restart another test may have taken the
    # port. (A TLS-only server is recognised by its port alone.)
    def ours_listening?(tls_only)
      if Process.waitpid(@pid, Process::WNOHANG)
        @pid = nil
        raise "redis-server on port #{@port} exited: #{File.read(File.join(@dir, 'redis.log'))[-500..]}"
      end
      return TCPSocket.new('127.0.0.1', @port).close.nil? if tls_only

      r = client
      r.info('server')['process_id'].to_i == @pid
    rescue SystemCallError, Redis::BaseConnectionError
      false
    ensure
      r&.close
    end

    def client
      Redis.new(url: @url)
    end

    # Creates (or replaces) an ACL user with a password, on every key and channel, with
    # these command rules ('+@all', '-@admin' ...); run as the default user.
    def acl_user(name, password, *rules)
      r = client
      r.call('ACL', 'SETUSER', name, 'reset', 'on', ">#{password}", '~*', '&*', *rules)
    ensure
      r&.close
    end

    def stop
      return unless @pid
      Harness.stop_process(@pid)
      @pid = nil
    end

    def destroy
      stop
      FileUtils.rm_rf(@dir)
    end
  end

  # TERM to a child process, then reaps it; one already gone is fine.
  def self.stop_process(pid)
    Process.kill('TERM', pid)
    Process.wait(pid)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  end

  # `what` names the condition; a Proc is called only on timeout, for a message that
  # shows the state at that moment.
  def self.wait_for(seconds, what)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    loop do
      return true if yield
      raise Timeout::Error, "timed out after #{seconds}s waiting for #{what.respond_to?(:call) ? what.call : what}" if
        Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      sleep 0.05
    end
  end
end
