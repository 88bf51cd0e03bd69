# frozen_string_literal: true

# bench_env.rb -- what the fediverse benchmarks (accounts, ingress, stream) share: a temp
# dir, a private Redis that Ruby's Sidekiq client pushes to, the fixture origin
# (tests/ingress/origin.rb) on the given loopback addresses serving <tmp>/origin, and
# their teardown at exit, with any scotty process the benchmark registered in pids.
require 'fileutils'
require 'sidekiq'
require 'timeout'
require_relative '../lib/servers'

class BenchEnv
  attr_reader :tmp, :root, :redis_server, :redis, :port, :pids

  def initialize(name, hosts)
    @tmp = Dir.mktmpdir("scotty-#{name}-bench")
    @root = File.join(@tmp, 'origin')
    FileUtils.mkdir_p(@root)
    @pids = []
    @redis_server = Harness::RedisServer.new
    @origin = IO.popen(['ruby', File.expand_path('../ingress/origin.rb', __dir__), '--root', @root,
                        *hosts.flat_map { |h| ['--bind', h] }], 'r+')
    at_exit { teardown }
    @port = Timeout.timeout(20) { @origin.gets }.to_s[/READY (\d+)/, 1] or abort 'origin did not start'
    Sidekiq.configure_client { |c| c.redis = { url: @redis_server.url } }
    Sidekiq.logger.level = Logger::WARN
    @redis = @redis_server.client
  end

  private

  def teardown
    @pids.each { |p| Process.kill('TERM', p) rescue nil }
    Process.kill('TERM', @origin.pid)
    Process.wait(@origin.pid)
    @redis_server.destroy
    FileUtils.rm_rf(@tmp) unless ENV['KEEP_TMP']
  end
end
