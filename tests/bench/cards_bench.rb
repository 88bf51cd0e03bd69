# cards_bench.rb -- the measuring half of tests/bench/cards.sh (which provides
# PostgreSQL with Mastodon's schema in DB_* and PG_PSQL).
# Args: scotty binary, cards per run, concurrency, rounds.
require 'etc'
require 'open3'
require 'sidekiq'
require 'timeout'
require_relative '../lib/servers'
require_relative '../lib/pg'

include Harness::PG

scotty_bin = ARGV[0]
n, concurrency, rounds = ARGV[1..3].map { |a| Integer(a) }

tmp = Dir.mktmpdir('scotty-cards-bench')
media = File.join(tmp, 'media')
FileUtils.mkdir_p(media)
{ 'lead.jpg' => %w[-f lavfi -i testsrc2=size=1200x630 -frames:v 1],
  'thumb.jpg' => %w[-f lavfi -i testsrc2=size=480x360 -frames:v 1],
  'anim.gif' => %w[-f lavfi -i testsrc=size=160x120:rate=5 -t 1] }.each do |name, args|
  out, st = Open3.capture2e('ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', *args,
                            File.join(media, name))
  abort "ffmpeg: #{out}" unless st.success?
end
redis_server = Harness::RedisServer.new
origin = IO.popen(['ruby', File.expand_path('../cards/card_origin.rb', __dir__), '--media', media], 'r+')
at_exit do
  Process.kill('TERM', origin.pid)
  Process.wait(origin.pid)
  redis_server.destroy
  FileUtils.rm_rf(tmp)
end
port = Timeout.timeout(20) { origin.gets }.to_s[/READY (\d+)/, 1] or abort 'origin did not start'
Sidekiq.configure_client { |c| c.redis = { url: redis_server.url } }
Sidekiq.logger.level = Logger::WARN

psql("INSERT INTO accounts (id, username, domain, uri, url, created_at, updated_at) VALUES (2, 'bob', " \
     "'remote.example', 'https://remote.example/users/bob', 'https://remote.example/@bob', now(), now())")

def cpu_seconds(pid)
  f = File.read("/proc/#{pid}/stat").split(') ').last.split
  (f[11].to_i + f[12].to_i) / Etc.sysconf(Etc::SC_CLK_TCK).to_f
end

def children_cpu
  t = Process.times
  t.cutime + t.cstime
end

$next_id = 116_000_000_000_000_000
$next_page = 0

# Inserts n statuses each linking a page never crawled before and pushes their jobs.
def push(n, port, image)
  values = []
  jobs = []
  n.times do
    $next_id += 1
    $next_page += 1
    path = image ? "/img-page/#{$next_page}" : "/page/#{$next_page}"
    html = "<p><a href=\"http://127.0.0.1:#{port}#{path}\">link</a></p>"
    values << "(#{$next_id}, 'https://remote.example/s/#{$next_id}', 2, #{q(html)}, now(), now(), false, 0)"
    jobs << [$next_id]
  end
  psql("INSERT INTO statuses (id, uri, account_id, text, created_at, updated_at, local, visibility) VALUES " +
       values.join(', '))
  Sidekiq::Client.push_bulk('class' => 'LinkCrawlWorker', 'queue' => 'pull', 'retry' => 0, 'args' => jobs)
end

def run(label, scotty_bin, concurrency, redis_server, n, port, image, tmp)
  redis = redis_server.client
  before = psql('SELECT count(*) FROM preview_cards_statuses').to_i
  with_image0 = psql("SELECT count(*) FROM preview_cards WHERE image_file_name IS NOT NULL").to_i
  push(n, port, image)
  env = { 'REDIS_URL' => redis_server.url, 'PAPERCLIP_ROOT_PATH' => File.join(tmp, 'system'),
          'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8', 'LOCAL_DOMAIN' => 'scotty.test' }
  cpu0 = children_cpu
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  pid = Process.spawn(env, scotty_bin, '-c', concurrency.to_s, '-q', 'pull', '--no-job-log',
                      '--media-slots', '2', err: File.join(tmp, "#{label}.log"))
  loop do
    left = redis.llen('queue:pull') + redis.keys('queue:scotty|*').sum { |k| redis.llen(k) }
    break if left.zero?

    sleep 0.05
  end
  elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
  cpu = cpu_seconds(pid)
  Process.kill('TERM', pid)
  Process.wait(pid)
  all_cpu = children_cpu - cpu0
  cards = psql('SELECT count(*) FROM preview_cards_statuses').to_i - before
  images = psql("SELECT count(*) FROM preview_cards WHERE image_file_name IS NOT NULL").to_i - with_image0
  abort "#{label}: #{cards} of #{n} cards; see #{tmp}/#{label}.log" if cards != n
  media_cpu = [all_cpu - cpu, 0].max
  puts format('%-22s %5d cards (%4d with image) %6.2f s %7.1f cards/s  CPU per card: scotty %6.2f ms, ' \
              'media children %6.2f ms', label, cards, images, elapsed, cards / elapsed, cpu / cards * 1000,
              media_cpu / cards * 1000)
  [cards / elapsed, cpu / cards, media_cpu / cards, images]
end

def median(a)
  s = a.sort
  s.size.odd? ? s[s.size / 2] : (s[s.size / 2 - 1] + s[s.size / 2]) / 2.0
end

puts "scotty -c #{concurrency} on pull, Redis, PostgreSQL and the fixture web on this #{`nproc`.strip}-core machine"
results = Hash.new { |h, k| h[k] = [] }
rounds.times do |r|
  [['no image', false], ['1200x630 JPEG', true]].each do |name, image|
    results[name] << run("#{name} #{r + 1}", scotty_bin, concurrency, redis_server, n, port, image, tmp)
  end
end
puts "medians of #{rounds} alternating rounds of #{n} cards:"
results.each do |name, rs|
  puts format('  %-14s %7.1f cards/s  CPU per card: scotty %6.2f ms, media children %6.2f ms',
              name, median(rs.map { |x| x[0] }), median(rs.map { |x| x[1] }) * 1000, median(rs.map { |x| x[2] }) * 1000)
end
plain = median(results['no image'].map(&:first))
img = median(results['1200x630 JPEG'].map(&:first))
puts format('ratio cards/s without image / with image: %.2f', plain / img)
puts 'note: no image was stored (the media child has no preview_card style yet)' if results['1200x630 JPEG'].sum { |x| x[3] }.zero?
