# media_fixtures.rb -- the media the fixture origin serves in the media tests, made
# once per run with the ffmpeg CLI: still images, an animated GIF, H.264 MP4s with and
# without audio, a WebM, an MP3 with cover art, a longer clip that must be transcoded,
# a corrupt file and a sparse file over Mastodon's 99 MB cap.
require 'fileutils'
require 'open3'

module MediaFixtures
  LAVFI = %w[-f lavfi -i].freeze

  # name => ffmpeg arguments after the inputs (output path appended)
  RECIPES = {
    'photo.jpg' => [[*LAVFI, 'testsrc=size=800x600:rate=1'], %w[-frames:v 1]],
    'pic.png' => [[*LAVFI, 'testsrc=size=320x240:rate=1'], %w[-frames:v 1]],
    'icon.png' => [[*LAVFI, 'smptebars=size=400x400:rate=1'], %w[-frames:v 1]],
    'anim.gif' => [[*LAVFI, 'testsrc=size=160x120:rate=10'], %w[-t 1]],
    'clip.mp4' => [[*LAVFI, 'testsrc=size=320x240:rate=25', *LAVFI, 'sine=frequency=440:sample_rate=44100'],
                   %w[-t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest]],
    'silent.mp4' => [[*LAVFI, 'testsrc=size=320x240:rate=25'],
                     %w[-t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p]],
    'clip.webm' => [[*LAVFI, 'testsrc=size=320x240:rate=25', *LAVFI, 'sine=frequency=440:sample_rate=48000'],
                    %w[-t 1 -c:v libvpx -deadline realtime -c:a libvorbis -shortest]],
    # 4:4:4 H.264 cannot be passed through: a real transcode that takes a few seconds
    'long.mp4' => [[*LAVFI, 'testsrc=size=640x360:rate=25'],
                   %w[-t 40 -c:v libx264 -preset ultrafast -pix_fmt yuv444p]]
  }.freeze

  def self.ffmpeg(*args)
    out, st = Open3.capture2e('ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', *args)
    raise "ffmpeg #{args.join(' ')} failed:\n#{out}" unless st.success?
  end

  # Writes every fixture into dir (once per process) and returns dir.
  def self.generate(dir)
    return dir if File.exist?(File.join(dir, '.done'))

    FileUtils.mkdir_p(dir)
    RECIPES.each do |name, (inputs, opts)|
      ffmpeg(*inputs, *opts, File.join(dir, name))
    end
    ffmpeg(*LAVFI, 'sine=frequency=330:sample_rate=44100', '-i', File.join(dir, 'pic.png'), '-map', '0:a',
           '-map', '1:v', '-t', '1', '-c:a', 'libmp3lame', '-c:v', 'png', '-disposition:v', 'attached_pic',
           '-id3v2_version', '3', File.join(dir, 'song.mp3'))
    # the first 64 bytes of a real MP4, then garbage: not decodable media
    File.binwrite(File.join(dir, 'corrupt.mp4'),
                  File.binread(File.join(dir, 'clip.mp4'), 64) + Random.new(7).bytes(4096))
    File.open(File.join(dir, 'huge.mp4'), 'wb') { |f| f.truncate(100 * 1024 * 1024) }
    FileUtils.touch(File.join(dir, '.done'))
    dir
  end
end
