# test_ingress_emoji.rb -- custom emoji of delivered statuses (worker/emoji), as
# ActivityPub::Activity::Create#process_emoji and ProcessStatusUpdateService's
# update_emojis! keep them: custom_emojis rows with Mastodon's columns and both styles
# (original unchanged, static PNG) at cache/custom_emojis/images/<id_partition>/...;
# Mastodon-, Misskey- and Pleroma-shaped tags; no second download of a known emoji; a
# new URL replaces the row's file; hostile images and shortcodes give a log line and no
# row while the status is still stored; a reject_media domain is never asked; no
# database connection is held while an emoji downloads.
require_relative 'ingress_helper'
require 'open3'
require 'zlib'

class IngressEmojiTest < IngressTest
  def setup
    super
    psql('TRUNCATE custom_emojis, domain_blocks')
    start_origin
    @dir = File.join(@origin_root, '127.0.0.1', 'emoji')
    FileUtils.mkdir_p(@dir)
    @base = "http://127.0.0.1:#{@origin_port}/emoji"
  end

  def teardown
    if @s3_pid
      Process.kill('TERM', @s3_pid)
      Process.wait(@s3_pid)
    end
    super
  end

  def start(env = {})
    @scotty = start_scotty('-c', '1', '-q', 'ingress', env: db_env.merge(env))
  end

  # The test S3 server (tests/storage/s3_server.js, SigV4-checking); scotty's S3_* env.
  def start_s3
    dir = File.join(@tmp, 's3')
    FileUtils.mkdir_p(dir)
    @s3_dir = File.join(dir, 'data')
    ports = File.join(dir, 'ports')
    @s3_pid = Process.spawn('node', File.join(HERE, '../storage/s3_server.js'), @s3_dir, 'scotty-media',
                            'scotty-test-key', 'scotty-test-secret', ports, out: File.join(dir, 'log'),
                                                                            err: File.join(dir, 'log'))
    wait_until(20, 'the S3 server to listen') { File.size?(ports) }
    port = File.read(ports).split.first.to_i
    { 'S3_ENABLED' => 'true', 'S3_BUCKET' => 'scotty-media', 'S3_REGION' => 'us-east-1', 'S3_PROTOCOL' => 'http',
      'S3_ENDPOINT' => "http://127.0.0.1:#{port}", 'S3_HOSTNAME' => "127.0.0.1:#{port}",
      'AWS_ACCESS_KEY_ID' => 'scotty-test-key', 'AWS_SECRET_ACCESS_KEY' => 'scotty-test-secret' }
  end

  def gen(name, *args)
    _o, err, st = Open3.capture3('ffmpeg', '-nostdin', '-loglevel', 'error', '-y', *args, File.join(@dir, name))
    raise "ffmpeg: #{err}" unless st.success?

    "#{@base}/#{name}"
  end

  def mastodon_tag(code, url, updated: '2026-01-01T00:00:00Z')
    { 'id' => "https://remote.example/emojis/#{code}", 'type' => 'Emoji', 'name' => ":#{code}:",
      'updated' => updated, 'icon' => { 'type' => 'Image', 'mediaType' => 'image/png', 'url' => url } }
  end

  # A Create of status n (a new uri each) by bob with these tags.
  def note(n, tags)
    fixture_with('create_note_mastodon') do |d|
      d['id'] = "#{NOTE_URI}#{n}/activity"
      d['object']['id'] = "#{NOTE_URI}#{n}"
      d['object']['tag'] = tags
      d['object'].delete('attachment')
      d['object'].delete('inReplyTo')
      d['object'].delete('inReplyToAtomUri')
    end
  end

  def emoji_rows
    rows('SELECT id, shortcode, domain, coalesce(uri, \'\'), image_remote_url, image_file_name, image_content_type, ' \
         'image_file_size, image_storage_schema_version, disabled, visible_in_picker, coalesce(category_id, 0), ' \
         'image_updated_at IS NOT NULL FROM custom_emojis ORDER BY shortcode')
  end

  def partition(id) = format(id.to_i < 1_000_000_000 ? '%09d' : '%012d', id.to_i).scan(/\d{3}/).join('/')

  def style_file(id, style, file_name)
    name = style == 'static' ? file_name.sub(/\.\w+\z/, '.png') : file_name
    File.join(@tmp, 'system', 'cache', 'custom_emojis', 'images', partition(id), style, name)
  end

  def frames(file)
    out, _e, _s = Open3.capture3('ffprobe', '-v', 'error', '-count_frames', '-select_streams', 'v:0',
                                 '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'csv=p=0', file)
    out.strip
  end

  def emoji_paths = origin_paths.select { |p| p.start_with?('/emoji/') }

  def test_three_server_shapes_stored_as_mastodon_stores_them
    png = gen('blobcat.png', '-f', 'lavfi', '-i', 'testsrc2=s=64x64', '-frames:v', '1')
    gif = gen('party.gif', '-f', 'lavfi', '-i', 'testsrc2=s=48x32:r=5', '-t', '1')
    webp = gen('fox.webp', '-f', 'lavfi', '-i', 'testsrc2=s=40x40', '-frames:v', '1')
    misskey = { 'id' => 'https://remote.example/emojis/party_parrot', 'type' => 'Emoji', 'name' => ':party_parrot:',
                'updated' => '2026-01-01T00:00:00.000Z',
                'icon' => { 'type' => 'Image', 'mediaType' => 'image/gif', 'url' => gif } }
    pleroma = { 'icon' => { 'type' => 'Image', 'url' => webp }, 'id' => webp, 'name' => ':fox_:',
                'type' => 'Emoji', 'updated' => '1970-01-01T00:00:00Z' }
    start
    deliver_and_wait(note(1, [mastodon_tag('blobcat', png), misskey, pleroma,
                              { 'type' => 'Hashtag', 'name' => '#cats', 'href' => 'https://remote.example/tags/cats' }]))
    refute_nil status_row("#{NOTE_URI}1"), @scotty.log
    r = emoji_rows
    assert_equal %w[blobcat fox_ party_parrot], r.map { |e| e[1] }, @scotty.log
    sizes = { 'blobcat' => 'blobcat.png', 'fox_' => 'fox.webp', 'party_parrot' => 'party.gif' }
    types = { 'blobcat' => %w[image/png png], 'fox_' => %w[image/webp webp], 'party_parrot' => %w[image/gif gif] }
    uris = { 'blobcat' => 'https://remote.example/emojis/blobcat', 'fox_' => webp,
             'party_parrot' => 'https://remote.example/emojis/party_parrot' }
    r.each do |id, code, domain, uri, url, file, type, size, schema, disabled, picker, category, updated|
      assert_equal 'remote.example', domain, 'the account\'s domain'
      assert_equal uris[code], uri
      assert_equal "#{@base}/#{sizes[code]}", url
      assert_match(/\A\h{16}\.#{types[code][1]}\z/, file)
      assert_equal types[code][0], type
      assert_equal File.size(File.join(@dir, sizes[code])).to_s, size
      assert_equal %w[1 f t 0 t], [schema, disabled, picker, category, updated]
      original = style_file(id, 'original', file)
      assert_equal File.binread(File.join(@dir, sizes[code])), File.binread(original), 'the original is kept as sent'
      static = style_file(id, 'static', file)
      assert_equal "\x89PNG".b, File.binread(static, 4), "#{code}: the static style is a PNG"
    end
    gif_row = r.find { |e| e[1] == 'party_parrot' }
    assert_equal '48,32,1', frames(style_file(gif_row[0], 'static', gif_row[5])), 'static: the first frame'
    assert_match(%r{emoji: :blobcat: of remote.example stored \(custom emoji \d+, image/png}, @scotty.log)

    # the same emoji in a second status: no download; a new `updated` with the same URL
    # neither (Remotable keeps a URL it holds a file for)
    deliver_and_wait(note(2, [mastodon_tag('blobcat', png, updated: '2027-01-01T00:00:00Z')]))
    refute_nil status_row("#{NOTE_URI}2")
    assert_equal 1, emoji_paths.count('/emoji/blobcat.png'), 'a known emoji is not fetched again'
    assert_equal r, emoji_rows

    # a new URL: the row takes the new file, the replaced files are deleted
    png2 = gen('blobcat2.png', '-f', 'lavfi', '-i', 'color=c=blue:s=32x32', '-frames:v', '1')
    old = r.find { |e| e[1] == 'blobcat' }
    deliver_and_wait(note(3, [mastodon_tag('blobcat', png2)]))
    now = emoji_rows.find { |e| e[1] == 'blobcat' }
    assert_equal old[0], now[0], 'the same row'
    assert_equal png2, now[4], @scotty.log
    refute_equal old[5], now[5]
    assert_equal File.size(File.join(@dir, 'blobcat2.png')).to_s, now[7]
    assert File.file?(style_file(now[0], 'original', now[5]))
    assert File.file?(style_file(now[0], 'static', now[5]))
    refute File.exist?(style_file(old[0], 'original', old[5])), 'the replaced original is deleted'
    refute File.exist?(style_file(old[0], 'static', old[5])), 'the replaced static is deleted'
    assert_empty retries
  end

  def test_hostile_emoji_are_skipped_and_the_status_is_stored
    ok = gen('ok.png', '-f', 'lavfi', '-i', 'testsrc2=s=32x32', '-frames:v', '1')
    big = gen('big.png', '-f', 'lavfi', '-i', 'testsrc2=s=32x32', '-frames:v', '1')
    File.open(File.join(@dir, 'big.png'), 'ab') { |f| f.write(Random.new(1).bytes(300 * 1024)) }
    exact = gen('exact.png', '-f', 'lavfi', '-i', 'testsrc2=s=32x32', '-frames:v', '1')
    pad = 256 * 1024 - File.size(File.join(@dir, 'exact.png'))
    File.open(File.join(@dir, 'exact.png'), 'ab') { |f| f.write("\0" * pad) }
    File.write(File.join(@dir, 'text.png'), 'this is not an image')
    jpeg = gen('photo.jpg', '-f', 'lavfi', '-i', 'testsrc2=s=32x32', '-frames:v', '1')
    chunk = ->(t, d) { [d.bytesize].pack('N') + t + d + [Zlib.crc32(t + d)].pack('N') }
    File.binwrite(File.join(@dir, 'bomb.png'),
                  "\x89PNG\r\n\x1a\n".b + chunk.call('IHDR', [30_000, 30_000, 8, 2, 0, 0, 0].pack('NNCCCCC')) +
                  chunk.call('IDAT', Zlib::Deflate.deflate("\0" * 100_000)) + chunk.call('IEND', ''))
    gif_bomb = gen('wide.gif', '-f', 'lavfi', '-i', 'color=c=red:s=1600x800', '-frames:v', '1')
    tags = [mastodon_tag('big', big), mastodon_tag('exact', exact), mastodon_tag('text', "#{@base}/text.png"),
            mastodon_tag('jpeg', jpeg), mastodon_tag('bomb', "#{@base}/bomb.png"), mastodon_tag('wide', gif_bomb),
            mastodon_tag('gone', "#{@base}/missing.png"),
            mastodon_tag('bad-code', ok), mastodon_tag('a', ok), mastodon_tag('ftp', 'ftp://127.0.0.1/x.png'),
            mastodon_tag('fine', ok)]
    start
    deliver_and_wait(note(1, tags))
    refute_nil status_row("#{NOTE_URI}1"), "the status is stored whatever its emoji\n#{@scotty.log}"
    assert_equal %w[fine], emoji_rows.map { |e| e[1] }, @scotty.log
    log = @scotty.log
    assert_match(/:big: of remote.example .* not stored: .*(cap|large)/, log)
    assert_match(/:exact: of remote.example .* not stored: 262144 bytes, not less than CustomEmoji::LIMIT/, log)
    assert_match(/:text: of remote.example .* not stored: /, log)
    assert_match(%r{:jpeg: of remote.example .* not stored: .*image/jpeg is not one of the accepted types}, log)
    assert_match(/:bomb: of remote.example .* not stored: .*30000x30000 images are not supported/, log)
    assert_match(/:wide: of remote.example .* not stored: .*1600x800 GIF files are not supported/, log)
    assert_match(/:gone: of remote.example .* not stored: .*404/, log)
    assert_match(/3 Emoji tags of #{Regexp.escape(NOTE_URI)}1 not stored \(Mastodon would not save them\): shortcode "bad-code"/, log)
    assert_equal %w[/emoji/big.png /emoji/exact.png /emoji/text.png /emoji/photo.jpg /emoji/bomb.png /emoji/wide.gif
                    /emoji/missing.png /emoji/ok.png].sort, emoji_paths.sort, 'refused shortcodes are never fetched'
    assert_empty retries, 'Mastodon gives up on an emoji, not on the status'
  end

  # Emoji entries do not count against AP_MAX_TAGS (Mastodon stores the status); at
  # most 50 of them are fetched.
  def test_thousands_of_emoji_tags_fetch_at_most_the_cap
    one = gen('one.png', '-f', 'lavfi', '-i', 'testsrc2=s=16x16', '-frames:v', '1')
    start
    deliver_and_wait(note(1, (1..2000).map { |i| mastodon_tag("e#{i}", "#{one}?#{i}") }))
    refute_nil status_row("#{NOTE_URI}1"), @scotty.log
    assert_equal 50, count('custom_emojis'), @scotty.log
    assert_equal 50, emoji_paths.size
    assert_match(/has more than 50 distinct emoji; 1950 more left as text/, @scotty.log)
  end

  # An emoji download holds no database connection: with one connection in the pool
  # (DB_POOL=1) and a Create waiting 4 s for its emoji image, a Like on the other
  # thread is stored before the Create's status is.
  def test_emoji_download_gives_the_connection_back
    gen('slow.png', '-f', 'lavfi', '-i', 'testsrc2=s=32x32', '-frames:v', '1')
    add_alice_status
    @scotty = start_ingress_scotty(env: { 'DB_POOL' => '1' })
    deliver(note(7, [mastodon_tag('slowcat', "http://127.0.0.1:#{@origin_port}/_delay/4000/emoji/slow.png")]))
    # the Create's last statement before the download: the new emoji's id
    wait_until(20, "the Create to reach its emoji\n#{@scotty.log}") do
      psql("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND " \
           "query LIKE '%nextval(pg_get_serial_sequence(''custom_emojis''%'").to_i.positive?
    end
    deliver(fixture('like'))
    wait_until(20, "the Like\n#{@scotty.log}") { count('favourites').positive? }
    assert_nil status_row("#{NOTE_URI}7"), 'the Like ran while the emoji was downloading'
    wait_idle
    refute_nil status_row("#{NOTE_URI}7"), @scotty.log
    assert_equal %w[slowcat], emoji_rows.map { |e| e[1] }
  end

  def test_reject_media_domain_is_not_asked
    png = gen('blobcat.png', '-f', 'lavfi', '-i', 'testsrc2=s=16x16', '-frames:v', '1')
    psql("INSERT INTO domain_blocks (domain, severity, reject_media, created_at, updated_at) " \
         "VALUES ('remote.example', 2, true, now(), now())")
    start
    deliver_and_wait(note(1, [mastodon_tag('blobcat', png)]))
    refute_nil status_row("#{NOTE_URI}1"), @scotty.log
    assert_equal 0, count('custom_emojis'), 'Mastodon makes no row either'
    assert_empty emoji_paths
    assert_match(/emoji of #{Regexp.escape(NOTE_URI)}1 not fetched: media from remote.example are rejected/, @scotty.log)
  end

  def test_update_stores_the_new_emoji
    png = gen('blobcat.png', '-f', 'lavfi', '-i', 'testsrc2=s=16x16', '-frames:v', '1')
    start
    deliver_and_wait(note(1, []))
    refute_nil status_row("#{NOTE_URI}1"), @scotty.log
    update = JSON.parse(note(1, [mastodon_tag('blobcat', png)]))
    update['type'] = 'Update'
    update['id'] = "#{NOTE_URI}1#updates/1"
    update['object']['updated'] = '2026-11-25T10:00:00Z'
    update['object']['content'] = '<p>now with :blobcat:</p>'
    deliver_and_wait(JSON.generate(update))
    assert_match(/now with :blobcat:/, status_row("#{NOTE_URI}1")[2], @scotty.log)
    assert_equal %w[blobcat], emoji_rows.map { |e| e[1] }, @scotty.log
  end

  def test_stored_in_s3
    png = gen('blobcat.png', '-f', 'lavfi', '-i', 'testsrc2=s=16x16', '-frames:v', '1')
    start(start_s3)
    deliver_and_wait(note(1, [mastodon_tag('blobcat', png)]))
    id, _code, _d, _u, _url, file = emoji_rows.first
    refute_nil file, @scotty.log
    dir = File.join(@s3_dir, 'scotty-media', 'cache', 'custom_emojis', 'images', *partition(id).split('/'))
    original = File.join(dir, 'original', "#{file}._S3rver_object")
    assert_equal File.binread(File.join(@dir, 'blobcat.png')), File.binread(original), 'the original in the bucket'
    assert File.file?(File.join(dir, 'static', "#{file.sub(/\.png\z/, '')}.png._S3rver_object")), 'static too'
    refute File.exist?(File.join(@tmp, 'system', 'cache', 'custom_emojis')), 'nothing on the local filesystem'
  end
end
