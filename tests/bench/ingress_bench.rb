# ingress_bench.rb -- the measuring half of tests/bench/ingress.sh (which provides
# PostgreSQL with Mastodon's schema in DB_* and PG_PSQL).
# Args: scotty binary, text posts, image posts, concurrency, rounds[, scotty binary before].
# The text posts run ROUNDS times, alternating with the binary before when given.
# The image posts run ROUNDS times with the media fork server and as many times
# with one exec'ed scotty-media per task (--media-fork-server off), alternating,
# and the medians are compared.
# The database is shaped like a live one, since PostgreSQL's plans depend on it:
# BENCH_SEED_STATUSES statuses (default 100,000) of another account are inserted and
# ANALYZEd first (on an empty, never analyzed statuses table, the prepared gate query's
# generic plan scans a partial index and filters by uri, so each post costs more than
# the last), and as many conversations with a URI (on an empty conversations table, the
# statuses insert's generic plan finds a post's conversation by a sequential scan, which
# on a live server's table it never would), and the posts come from BENCH_AUTHORS remote accounts (default 100) in
# turn, not one (every post of one author updates the same account_stats row).
# Each text run starts from the same database: the rows the runs before wrote are
# removed and the tables vacuumed first (left to grow, each run was slower than the
# last, which a before/after pair reads as a difference between the builds).
# BENCH_PG_TOP=N prints the N statements PostgreSQL spent most time in, per run, executing
# and planning (a statement whose generic plan looks dearer than a custom one is planned
# anew for every call).
require 'etc'
require_relative 'bench_env'
require_relative '../lib/fediverse'

scotty_bin = ARGV[0]
n_text, n_image, concurrency = ARGV[1..3].map { |a| Integer(a) }
rounds = Integer(ARGV[4] || 3)
before_bin = ARGV[5]
FLEET = 3000.0 # jobs/s, the top of mastodon.social's whole Sidekiq fleet
SEED_ACCOUNT = 99 # the author of the seeded statuses

env = BenchEnv.new('ingress', %w[127.0.0.2])
tmp, root, redis_server, port = env.tmp, env.root, env.redis_server, env.port

social = Fediverse::Server.new(root, '127.0.0.2', port)
Fediverse.add_local_account(1, 'alice')
authors = (0...Integer(ENV.fetch('BENCH_AUTHORS', '100'))).map do |i|
  [social.add_account(100 + i, "bob#{i}", followed_by: 1), "bob#{i}"]
end
if (seed = Integer(ENV.fetch('BENCH_SEED_STATUSES', '100000'))).positive?
  Fediverse.psql("INSERT INTO accounts (id, username, domain, uri, created_at, updated_at) VALUES (#{SEED_ACCOUNT}, 'seed', " \
                 "'seed.example', 'https://seed.example/users/seed', now(), now())")
  Fediverse.psql("INSERT INTO statuses (id, uri, account_id, text, created_at, updated_at, local, visibility) " \
                 "SELECT g, 'https://seed.example/statuses/' || g, #{SEED_ACCOUNT}, 'seed', now(), now(), false, 0 " \
                 "FROM generate_series(1, #{seed}) g")
  Fediverse.psql("INSERT INTO conversations (uri, created_at, updated_at) SELECT 'tag:seed.example,2026:objectId=' || g || " \
                 "':objectType=Conversation', now(), now() FROM generate_series(1, #{seed}) g")
  Fediverse.psql('ANALYZE')
end
image = social.ffmpeg_media('media/photo.jpg', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720', '-frames:v', '1')

def cpu_seconds(pid)
  f = File.read("/proc/#{pid}/stat").split(') ').last.split
  (f[11].to_i + f[12].to_i) / Etc.sysconf(Etc::SC_CLK_TCK).to_f
end

def peak_rss_kb(pid)
  File.read("/proc/#{pid}/status")[/VmHWM:\s+(\d+)/, 1].to_i
end

# CPU seconds of this process's reaped children (scotty and, once it reaped
# them, its media server and children).
def children_cpu
  t = Process.times
  t.cutime + t.cstime
end

# Statements PostgreSQL executed since the last pg_stat_statements_reset(), but the
# bench's own.
def pg_statements
  Fediverse.psql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'")
           .to_i
end

# The seeded database again: what earlier runs wrote removed, the tables vacuumed.
def reset_written_rows
  Fediverse.psql('TRUNCATE statuses_tags, tags, account_stats, status_stats, mentions')
  Fediverse.psql("DELETE FROM conversations WHERE uri IS NULL OR uri NOT LIKE 'tag:seed.example,%'")
  Fediverse.psql("DELETE FROM statuses WHERE account_id <> #{SEED_ACCOUNT}")
  %w[statuses conversations statuses_tags tags account_stats].each { |t| Fediverse.psql("VACUUM ANALYZE #{t}") }
end

# CPU seconds the whole machine has spent busy (all processes and the kernel), from
# /proc/stat: per post, a cost that other guests on the host change less than the rate.
def machine_busy_seconds
  f = File.read('/proc/stat').lines.first.split[1..].map(&:to_i)
  (f.sum - f[3] - f[4]) / Etc.sysconf(Etc::SC_CLK_TCK).to_f # all but idle and iowait
end

# Pushes the activities, then runs scotty until ingress is empty; returns
# [rate, CPU seconds of scotty and its children, statements per post, round trips
# per post (nil when the binary does not log them)].
def run(label, scotty_bin, concurrency, redis_server, activities, tmp, *flags)
  redis = redis_server.client
  Fediverse.push_from(activities)
  env = { 'REDIS_URL' => redis_server.url,
          'PAPERCLIP_ROOT_PATH' => File.join(tmp, 'system'), 'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8',
          'LOCAL_DOMAIN' => 'scotty.test' }
  before = Fediverse.psql('SELECT count(*) FROM statuses').to_i
  Fediverse.psql('SELECT pg_stat_statements_reset()')
  cpu0 = children_cpu
  busy0 = machine_busy_seconds
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  pid = Process.spawn(env, scotty_bin, '-c', concurrency.to_s, '-q', 'ingress', '--no-job-log',
                      '--media-slots', '2', *flags, err: File.join(tmp, "#{label}.log"))
  loop do
    left = redis.llen('queue:ingress') + redis.keys('queue:scotty|*').sum { |k| redis.llen(k) }
    break if left.zero?

    sleep 0.05
  end
  elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
  busy = machine_busy_seconds - busy0
  cpu = cpu_seconds(pid)
  rss = peak_rss_kb(pid)
  Process.kill('TERM', pid)
  Process.wait(pid)
  all_cpu = children_cpu - cpu0
  statements = pg_statements
  if ENV['BENCH_PG_TOP']
    puts Fediverse.psql("SELECT round(total_exec_time::numeric, 0) || ' ms, plan ' || " \
                        "round(total_plan_time::numeric, 0) || ' ms, ' || plans || ' plans, ' || calls || ' calls: ' || " \
                        "left(regexp_replace(query, '\\s+', ' ', 'g'), 150) FROM pg_stat_statements " \
                        "ORDER BY total_exec_time + total_plan_time DESC LIMIT #{Integer(ENV['BENCH_PG_TOP'])}")
  end
  written = Fediverse.psql('SELECT count(*) FROM statuses').to_i - before
  abort "#{label}: #{written} of #{activities.size} statuses written; see #{tmp}/#{label}.log" if written != activities.size
  rate = written / elapsed
  trips = File.read(File.join(tmp, "#{label}.log"))[/PostgreSQL pool: \d+ statements in (\d+) round trips/, 1]
  per_post = [statements.to_f / written, trips && trips.to_f / written, busy * 1000 / written]
  puts format('%-30s %6d posts %6.2f s %7.0f posts/s %5.2f x fleet  CPU scotty %5.1f s, with children %5.1f s  ' \
              'machine %5.2f ms/post  peak RSS %5.1f MB  %4.1f statements/post  %s round trips/post', label, written,
              elapsed, rate, rate / FLEET, cpu, all_cpu, per_post[2], rss / 1024.0, per_post[0],
              trips ? format('%4.1f', per_post[1]) : 'n/a')
  [rate, all_cpu, *per_post]
end

def median(a)
  s = a.sort
  s.size.odd? ? s[s.size / 2] : (s[s.size / 2 - 1] + s[s.size / 2]) / 2.0
end

# CPU of one bare exec of the media child binary (it prints its usage and exits).
def bare_exec_cpu(media_bin, n)
  cpu0 = children_cpu
  n.times { system(media_bin, out: File::NULL, err: File::NULL) }
  (children_cpu - cpu0) / n
end

next_id = 0
text_posts = lambda do
  (1..n_text).map do
    next_id += 1
    id, name = authors[next_id % authors.size]
    [id, social.create_note(name, next_id, text: "Post #{next_id} #bench", tags: ['bench'])]
  end
end
image_posts = lambda do
  (1..n_image).map do
    next_id += 1
    id, name = authors[next_id % authors.size]
    [id, social.create_note(name, next_id, text: "Photo #{next_id}", media: [[image, 'image/jpeg', 'test card']])]
  end
end
puts "scotty -c #{concurrency}, Redis and PostgreSQL on this #{`nproc`.strip}-core machine; " \
     "fleet = #{FLEET.to_i} jobs/s (mastodon.social, all hosts)"
builds = before_bin ? { 'before' => before_bin, 'after' => scotty_bin } : { 'this build' => scotty_bin }
text_results = Hash.new { |h, k| h[k] = [] }
rounds.times do |r|
  builds.each do |name, bin|
    reset_written_rows
    text_results[name] << run("text-only, #{name} #{r + 1}", bin, concurrency, redis_server, text_posts.call, tmp)
  end
end
puts "medians of #{rounds} rounds of #{n_text} text posts#{before_bin ? ', alternating' : ''}:"
builds.each_key do |name|
  rr = text_results[name]
  trips = rr.map { |x| x[3] }.compact
  puts format('  %-10s %7.0f posts/s  %5.2f statements/post (pg_stat_statements)  %s round trips/post (scotty)  ' \
              '%5.2f ms of machine CPU/post', name, median(rr.map(&:first)), median(rr.map { |x| x[2] }),
              trips.empty? ? 'n/a' : format('%5.2f', median(trips)), median(rr.map { |x| x[4] }))
end
t = median(text_results[builds.keys.last].map(&:first))
if before_bin
  b, a = text_results['before'], text_results['after']
  pairs = a.zip(b).map { |x, y| x[0] / y[0] }
  puts format('ratio text posts/s after / before: %.2f (medians); per pair %s, their median %.2f',
              t / median(b.map(&:first)), pairs.map { |r| format('%.2f', r) }.join(' '), median(pairs))
  puts format('ratio machine CPU per post before / after: %.2f', median(b.map { |x| x[4] }) / median(a.map { |x| x[4] }))
end
exit if n_image.zero?

modes = { 'fork server' => %w[--media-fork-server on], 'exec per task' => %w[--media-fork-server off] }
results = Hash.new { |h, k| h[k] = [] }
rounds.times do |r|
  modes.each do |name, flags|
    results[name] << run("JPEG each, #{name} #{r + 1}", scotty_bin, concurrency, redis_server, image_posts.call,
                         tmp, *flags)
  end
end
media_bin = File.join(File.dirname(scotty_bin), 'scotty-media')
exec_cpu = bare_exec_cpu(media_bin, 20)
puts "medians of #{rounds} alternating rounds of #{n_image} posts with one 720p JPEG each:"
modes.each_key do |name|
  rate = median(results[name].map(&:first))
  per_image = median(results[name].map { |rr| rr[1] / n_image })
  puts format('  %-14s %7.1f posts/s  CPU per image (scotty + children) %6.1f ms', name, rate, per_image * 1000)
end
fork_rate = median(results['fork server'].map(&:first))
exec_rate = median(results['exec per task'].map(&:first))
puts format('  one bare exec of scotty-media (usage only): %.1f ms CPU', exec_cpu * 1000)
puts format('ratio image posts/s fork server / exec per task: %.2f', fork_rate / exec_rate)
puts format('ratio text-only / with image (fork server): %.1f', t / fork_rate) if fork_rate.positive?
