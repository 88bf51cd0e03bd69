# ingress_bench.rb -- the measuring half of tests/bench/ingress.sh (which provides
# PostgreSQL with Mastodon's schema in DB_* and PG_PSQL).
# Args: scotty binary, text posts, image posts, concurrency.
require 'etc'
require 'sidekiq'
require 'timeout'
require_relative '../lib/servers'
require_relative '../lib/fediverse'

scotty_bin = ARGV[0]
n_text, n_image, concurrency = ARGV[1..3].map { |a| Integer(a) }
FLEET = 3000.0 # jobs/s, the top of mastodon.social's whole Sidekiq fleet

tmp = Dir.mktmpdir('scotty-ingress-bench')
root = File.join(tmp, 'origin')
redis_server = Harness::RedisServer.new
origin = IO.popen(['ruby', File.expand_path('../ingress/origin.rb', __dir__), '--root', root,
                   '--bind', '127.0.0.2'], 'r+')
at_exit do
  Process.kill('TERM', origin.pid)
  Process.wait(origin.pid)
  redis_server.destroy
  FileUtils.rm_rf(tmp)
end
port = Timeout.timeout(20) { origin.gets }.to_s[/READY (\d+)/, 1] or abort 'origin did not start'
Sidekiq.configure_client { |c| c.redis = { url: redis_server.url } }
Sidekiq.logger.level = Logger::WARN

social = Fediverse::Server.new(root, '127.0.0.2', port)
Fediverse.add_local_account(1, 'alice')
bob = social.add_account(100, 'bob', followed_by: 1)
image = social.ffmpeg_media('media/photo.jpg', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720', '-frames:v', '1')

def cpu_seconds(pid)
  f = File.read("/proc/#{pid}/stat").split(') ').last.split
  (f[11].to_i + f[12].to_i) / Etc.sysconf(Etc::SC_CLK_TCK).to_f
end

def peak_rss_kb(pid)
  File.read("/proc/#{pid}/status")[/VmHWM:\s+(\d+)/, 1].to_i
end

# Pushes the activities, then runs scotty until ingress is empty; returns [rate, cpu, rss].
def run(label, scotty_bin, concurrency, redis_server, bob, activities, tmp)
  redis = redis_server.client
  Fediverse.push_all(bob, activities)
  env = { 'REDIS_URL' => redis_server.url,
          'PAPERCLIP_ROOT_PATH' => File.join(tmp, 'system'), 'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8',
          'LOCAL_DOMAIN' => 'scotty.test' }
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  pid = Process.spawn(env, scotty_bin, '-c', concurrency.to_s, '-q', 'ingress', '--no-job-log',
                      '--media-slots', '2', err: File.join(tmp, "#{label}.log"))
  before = Fediverse.psql('SELECT count(*) FROM statuses').to_i
  loop do
    left = redis.llen('queue:ingress') + redis.keys('queue:scotty|*').sum { |k| redis.llen(k) }
    break if left.zero?

    sleep 0.05
  end
  elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
  cpu = cpu_seconds(pid)
  rss = peak_rss_kb(pid)
  Process.kill('TERM', pid)
  Process.wait(pid)
  written = Fediverse.psql('SELECT count(*) FROM statuses').to_i - before
  abort "#{label}: #{written} of #{activities.size} statuses written; see #{tmp}/#{label}.log" if written != activities.size
  rate = written / elapsed
  puts format('%-22s %7d posts  %6.2f s  %8.0f posts/s  %5.2f x fleet  scotty CPU %5.1f s  peak RSS %5.1f MB',
              label, written, elapsed, rate, rate / FLEET, cpu, rss / 1024.0)
  rate
end

text = (1..n_text).map { |i| social.create_note('bob', i, text: "Post #{i} #bench", tags: ['bench']) }
with_image = (1..n_image).map do |i|
  social.create_note('bob', n_text + i, text: "Photo #{i}", media: [[image, 'image/jpeg', 'test card']])
end
puts "scotty -c #{concurrency}, Redis and PostgreSQL on this #{`nproc`.strip}-core machine; " \
     "fleet = #{FLEET.to_i} jobs/s (mastodon.social, all hosts)"
t = run('text-only', scotty_bin, concurrency, redis_server, bob, text, tmp)
m = run('one 720p JPEG each', scotty_bin, concurrency, redis_server, bob, with_image, tmp)
puts format('ratio text-only / with image: %.1f', t / m) if m.positive?
