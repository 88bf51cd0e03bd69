# demo.rb -- the demo's script (see demo.sh): a private Redis, the PostgreSQL demo.sh
# started (Mastodon's schema from `scotty db init`), a fixture fediverse of two remote
# servers (tests/ingress/origin.rb) with media made by the ffmpeg CLI, and an ingress
# burst pushed by Ruby's Sidekiq client exactly as Mastodon's inbox controller does.
# scotty works it off with media transcoding capped at half a core, then the demo shows
# the statuses written, the media produced (paths) and the operator's stats.
require 'sidekiq'
require 'sidekiq/api'
require 'timeout'
require_relative '../tests/lib/servers'
require_relative '../tests/lib/fediverse'

scotty, scottyctl = ARGV.fetch(0), ARGV.fetch(1)
TEXT_POSTS = 2000
IMAGE_POSTS = 20
VIDEO_POSTS = 2

server = Harness::RedisServer.new
url = server.url
dir = Dir.mktmpdir('scotty-demo')
root = File.join(dir, 'origin')
pids = []
begin
  redis = server.client
  Sidekiq.configure_client { |c| c.redis = { url: url } }
  Sidekiq.logger.level = Logger::WARN
  puts "== private Redis on #{url}, PostgreSQL on #{ENV.fetch('DB_HOST')}:#{ENV.fetch('DB_PORT')}"

  origin_out = IO.popen(['ruby', File.expand_path('../tests/ingress/origin.rb', __dir__), '--root', root,
                         '--bind', '127.0.0.2', '--bind', '127.0.0.3'], 'r+')
  pids << origin_out.pid
  port = Timeout.timeout(20) { origin_out.gets }.to_s[/READY (\d+)/, 1] or raise 'origin did not start'
  social = Fediverse::Server.new(root, '127.0.0.2', port)
  video = Fediverse::Server.new(root, '127.0.0.3', port)
  puts "== fixture fediverse: #{social.base} (Mastodon-like) and #{video.base} (video host)"

  Fediverse.add_local_account(1, 'alice')
  bob = social.add_account(100, 'bob', followed_by: 1)
  carol = video.add_account(101, 'carol', followed_by: 1)
  image_url = social.ffmpeg_media('media/photo.jpg', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720',
                                  '-frames:v', '1')
  video_url = video.ffmpeg_media('media/clip.webm', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
                                 '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '6',
                                 '-c:v', 'libvpx', '-b:v', '1M', '-c:a', 'libvorbis')

  text = (1..TEXT_POSTS).map { |i| social.create_note('bob', i, text: "Post #{i} #demo", tags: ['demo']) }
  images = (1..IMAGE_POSTS).map do |i|
    social.create_note('bob', TEXT_POSTS + i, text: "Photo #{i}", media: [[image_url, 'image/jpeg', 'A test card']])
  end
  videos = (1..VIDEO_POSTS).map do |i|
    video.create_note('carol', i, text: "Video #{i}", media: [[video_url, 'video/webm', 'Six seconds of colour bars']])
  end
  Fediverse.push_all(bob, text + images)
  Fediverse.push_all(carol, videos)
  puts "== enqueued with Sidekiq::Client: #{TEXT_POSTS} text posts, #{IMAGE_POSTS} with a 720p JPEG, " \
       "#{VIDEO_POSTS} with a 720p WebM (transcoded to H.264)"

  control = File.join(dir, 'scotty.sock')
  log = File.join(dir, 'scotty.log')
  env = { 'REDIS_URL' => url, 'PAPERCLIP_ROOT_PATH' => File.join(dir, 'system'),
          'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8', 'LOCAL_DOMAIN' => 'scotty.test' }
  # pull may also carry Mastodon jobs scotty has no handler for (the featured-collection
  # syncs, say): they go on to a queue a Ruby Sidekiq listens on, as in production.
  cmd = [scotty, '-c', '10', '-q', 'ingress,4', '-q', 'pull,1', '--control', control,
         '--media-slots', '1', '--media-cpu-quota', '0.5', '--no-job-log', '--forward-unknown', 'pull_ruby']
  puts "== running: scotty #{cmd.drop(1).join(' ')}"
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  pids << (scotty_pid = Process.spawn(env, *cmd, err: log))
  busy_seen = nil
  Timeout.timeout(600) do
    loop do
      left = %w[ingress pull].sum { |q| redis.llen("queue:#{q}") } +
             redis.keys('queue:scotty|*').sum { |k| redis.llen(k) }
      break if left.zero?

      stats = `#{scottyctl} -s #{control} stats 2>/dev/null`
      busy_seen ||= stats if stats =~ /^media slots 1 of 1 in use/
      sleep 0.2
    end
  end
  elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
  final_stats = `#{scottyctl} -s #{control} stats`
  Process.kill('TERM', scotty_pid)
  Process.wait(scotty_pid)
  pids.delete(scotty_pid)

  statuses = Fediverse.psql('SELECT count(*) FROM statuses').to_i
  puts "== #{statuses} statuses written in #{format('%.1f', elapsed)} s, media included " \
       '(the videos are transcoded one at a time under a 0.5-core cap)'
  puts Fediverse.psql("SELECT '   ' || name || ': ' || count(*) || ' statuses' FROM tags " \
                      'JOIN statuses_tags ON tag_id = tags.id GROUP BY name')
  puts '== media (type, stored file, size; files under PAPERCLIP_ROOT_PATH)'
  rows = Fediverse.psql("SELECT id, type, coalesce(file_file_name, '-'), coalesce(file_file_size, 0), " \
                        "coalesce(file_meta->'original'->>'width', '') || 'x' || " \
                        "coalesce(file_meta->'original'->>'height', '') FROM media_attachments ORDER BY type DESC, id")
  types = { '0' => 'image', '1' => 'gifv', '2' => 'video', '3' => 'unknown', '4' => 'audio' }
  rows.lines.map { |l| l.chomp.split('|') }.uniq { |r| r[1] }.each do |id, type, name, size, geometry|
    paths = Dir.glob(File.join(dir, 'system', '**', File.basename(name, '.*') + '.*'))
    puts "   #{types[type]} #{geometry} #{size} bytes (media_attachments #{id})"
    paths.each { |p| puts "     #{p.delete_prefix("#{dir}/")}" }
  end
  puts "   #{rows.lines.size} attachments in all"
  follow = redis.keys('queue:*').reject { |k| k.start_with?('queue:scotty|') }
  puts "== follow-up jobs left for Mastodon's Ruby Sidekiq: " +
       (follow.map { |k| "#{k.delete_prefix('queue:')} #{redis.llen(k)}" } +
        ["scheduled #{Sidekiq::ScheduledSet.new.size}"]).join(', ')
  puts '== scottyctl stats (while the video transcoded)', busy_seen if busy_seen
  puts '== scottyctl stats (at the end)', final_stats
  puts '== scotty log (warnings and media lines)'
  lines = File.readlines(log)
  (lines.grep(/WARN|ERROR|media: [^a]/) + lines.grep(/stored: image/).first(2) +
   lines.grep(/stored: (video|gifv)/)).each { |l| puts "   #{l}" }
ensure
  pids.each { |pid| Harness.stop_process(pid) }
  server.destroy
  FileUtils.rm_rf(dir)
end
