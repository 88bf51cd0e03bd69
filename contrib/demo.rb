# demo.rb -- the demo's script (see demo.sh): private Redis, a burst pushed by Ruby's
# Sidekiq client, scotty working it off, then the numbers Sidekiq's own API reports.
require 'sidekiq'
require 'sidekiq/api'
require_relative '../tests/lib/servers'

scotty = ARGV.fetch(0)
server = Harness::RedisServer.new
url = server.url
dir = Dir.mktmpdir('scotty-demo')
scotty_pid = nil
begin
  redis = server.client
  puts "== private Redis on #{url}"
  Sidekiq.configure_client { |c| c.redis = { url: url } }
  Sidekiq.logger.level = Logger::WARN

  puts '== enqueueing a burst with Sidekiq::Client (Ruby)'
  Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Noop', 'queue' => 'ingress',
                            'args' => (1..20_000).map { |i| [i] })
  Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Sleep', 'queue' => 'pull',
                            'args' => Array.new(20) { [300] })
  Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'queue' => 'push',
                       'args' => ['remote inbox answered 503'], 'retry' => 16)
  Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'queue' => 'push',
                       'args' => ['gone for good'], 'retry' => 0)
  Sidekiq::Client.push('class' => 'Scotty::Diag::Noop', 'queue' => 'default', 'args' => ['later'],
                       'at' => Time.now.to_f + 2)
  Sidekiq::Client.push('class' => 'Mastodon::NotInScotty', 'queue' => 'default', 'args' => [])
  puts "   20,000 no-op jobs on ingress, 20 x 300 ms jobs on pull, 2 failing jobs on push,"
  puts '   1 scheduled job (in 2 s), 1 job of a class scotty does not know'

  log = File.join(dir, 'scotty.log')
  cmd = [scotty, '-c', '10', '-q', 'default,4', '-q', 'ingress,2', '-q', 'push,2', '-q', 'pull,1',
         '--poll-interval', '1', '--forward-unknown', 'ruby']
  puts "== running: #{cmd.drop(1).join(' ')}"
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  scotty_pid = Process.spawn({ 'REDIS_URL' => url }, *cmd, err: log)
  loop do
    queues = %w[ingress pull push default].sum { |q| redis.llen("queue:#{q}") }
    private = redis.keys('queue:scotty|*').sum { |k| redis.llen(k) }
    break if queues.zero? && private.zero? && Sidekiq::ScheduledSet.new.size.zero?
    sleep 0.05
  end
  elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
  sleep 5.5 # one heartbeat, so the counters reach Redis
  procs = Sidekiq::ProcessSet.new.to_a
  Process.kill('TERM', scotty_pid)
  Process.wait(scotty_pid)
  scotty_pid = nil

  stats = Sidekiq::Stats.new
  puts "== done in #{format('%.1f', elapsed)} s (including start-up and the 2 s scheduled job)"
  puts "== what Sidekiq's own API reports"
  p = procs.first
  puts "   process:   #{p['identity']} tag=#{p['tag'].inspect} concurrency=#{p['concurrency']} " \
       "queues=#{p['queues'].join(',')} rss=#{p['rss']} kB"
  puts "   processed: #{stats.processed}   failed: #{stats.failed}"
  Sidekiq::RetrySet.new.each do |r|
    puts "   retry set: #{r.klass} #{r['error_class']}: #{r['error_message']} " \
         "(retry #{r['retry_count'] + 1} of #{r['retry']} in #{(r.at - Time.now).round} s)"
  end
  Sidekiq::DeadSet.new.each { |d| puts "   dead set:  #{d.klass}: #{d['error_message']}" }
  puts "   forwarded to queue 'ruby' for a Ruby Sidekiq: #{redis.llen('queue:ruby')} job(s)"
  puts '== scotty log (warnings and lifecycle)'
  File.readlines(log).grep(/WARN|ERROR|started|stopped|forwarded/).first(8).each { |l| puts "   #{l}" }
ensure
  Process.kill('TERM', scotty_pid) if scotty_pid
  server.destroy
  FileUtils.rm_rf(dir)
end
