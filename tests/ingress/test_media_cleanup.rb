# test_media_cleanup.rb -- what RedownloadMediaWorker stores, Scotty::MediaCacheCleanup
# removes: an image, a PNG with a remote icon as its thumbnail, an animated GIF
# (gifv), a video and an MP3 with cover art are fetched from the fixture origin into filesystem storage, made older than
# the retention period, and cleaned up; no file may be left under
# PAPERCLIP_ROOT_PATH and every file and thumbnail column is cleared.
require_relative 'ingress_helper'
require_relative 'media_fixtures'

class MediaCleanupEndToEndTest < IngressTest
  FIXTURES = File.join(Dir.tmpdir, "scotty-cleanup-fixtures-#{Process.pid}")
  Minitest.after_run { FileUtils.rm_rf(FIXTURES) }
  FILE_COLUMNS = %w[file_file_name file_content_type file_file_size file_updated_at thumbnail_file_name
                    thumbnail_content_type thumbnail_file_size thumbnail_updated_at].freeze

  def setup
    super
    start_origin
    File.symlink(MediaFixtures.generate(FIXTURES), File.join(@origin_root, '127.0.0.1'))
    @root = db_env.fetch('PAPERCLIP_ROOT_PATH')
    @next_id = 110_000_000_000_000_001
  end

  # A media_attachments row of bob's as ActivityPub::Activity::Create inserts it.
  def attachment(path, thumbnail: nil)
    id = @next_id
    @next_id += 1
    base = "http://127.0.0.1:#{@origin_port}"
    psql('INSERT INTO media_attachments (id, account_id, remote_url, thumbnail_remote_url, type, created_at, ' \
         "updated_at) VALUES (#{id}, #{BOB}, #{q(base + path)}, #{thumbnail ? q(base + thumbnail) : 'NULL'}, 3, " \
         'now(), now())')
    id
  end

  def stored_files
    Dir.glob(File.join(@root, '**', '*')).select { |f| File.file?(f) }.map { |f| f.delete_prefix("#{@root}/") }
  end

  def file_columns(id)
    rows("SELECT #{FILE_COLUMNS.map { |c| "coalesce(#{c}::text, '')" }.join(', ')} FROM media_attachments " \
         "WHERE id = #{id}").first
  end

  def test_cleanup_leaves_no_file_of_any_style
    @scotty = start_scotty('-c', '2', '-q', 'pull', '-q', 'default', env: db_env)
    ids = {
      photo: attachment('/photo.jpg'),
      png: attachment('/pic.png', thumbnail: '/icon.png'),
      gif: attachment('/anim.gif'),
      mp4: attachment('/clip.mp4'),
      mp3: attachment('/song.mp3')
    }
    ids.each_value do |id|
      Sidekiq::Client.push('class' => 'RedownloadMediaWorker', 'queue' => 'pull', 'args' => [id], 'retry' => 3)
    end
    begin
      wait_until(180, 'every attachment stored') { count('media_attachments', 'file_file_name IS NOT NULL') == ids.size }
    rescue Minitest::Assertion => e
      raise e, "#{e.message}\n#{@scotty.log}\norigin requests: #{origin_paths}"
    end
    types = ids.values.map { |id| rows("SELECT type FROM media_attachments WHERE id = #{id}").first.first }
    assert_equal %w[0 0 1 2 4], types, 'image, image, gifv, video, audio'
    assert_equal 2, count('media_attachments', 'thumbnail_file_name IS NOT NULL'), 'icon and cover art'
    assert_equal 11, stored_files.size, "original and small of each, audio without small, two thumbnails: #{stored_files}"

    psql("UPDATE media_attachments SET created_at = now() - interval '30 days', " \
         "updated_at = now() - interval '30 days'")
    Sidekiq::Client.push('class' => 'Scotty::MediaCacheCleanup', 'queue' => 'default', 'args' => [{ 'days' => 7 }])
    wait_until(60, 'the cleanup to finish') do
      @scotty.log.match?(/media cache cleanup.*: \d+ rows/) && Sidekiq::Workers.new.size.zero?
    end
    assert_empty retries, @scotty.log
    assert_match(/media cache cleanup.*: 5 rows, 11 objects/, @scotty.log)
    assert_empty stored_files, "no object of any style is left\n#{@scotty.log}"
    ids.each do |what, id|
      assert_equal [''] * FILE_COLUMNS.size, file_columns(id), "#{what}: file and thumbnail columns cleared"
      refute_empty rows("SELECT remote_url FROM media_attachments WHERE id = #{id}").first.first,
                   "#{what}: remote_url stays"
    end
  end
end
