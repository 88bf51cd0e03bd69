#!/usr/bin/env ruby
# frozen_string_literal: true

# card_origin.rb -- the fixture web for the link card tests and benchmark: a plain
# loopback HTTP/1.1 server (one thread per connection, Connection: close) whose pages
# have the shapes real sites use, plus the hostile answers a crawler meets. Written on
# sockets, not WEBrick, so it can stall mid-body, send gzip bombs and lie in headers.
#
#   ruby card_origin.rb --media DIR [--bind ADDR] [--log FILE]
#
# - Prints "READY <port>" once listening and exits when stdin closes.
# - --media DIR holds lead.jpg, thumb.jpg and anim.gif (made by the test with ffmpeg).
# - --log appends one JSON line per request: {path, ua, accept, accept_language}.
# Pages use absolute URLs built from the request's Host, so any loopback address works.
require 'json'
require 'optparse'
require 'socket'
require 'stringio'
require 'zlib'

module CardOrigin
  def self.news(base)
    <<~HTML
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8">
      <title>Harbour reopens | The Daily Harbour</title>
      <meta name="description" content="Plain meta description">
      <meta property="og:type" content="article">
      <meta property="og:title" content="Harbour reopens (OG)">
      <meta property="og:description" content="OG description">
      <meta property="og:image" content="/media/lead.jpg">
      <meta property="og:image:alt" content="Boats at dawn">
      <meta property="og:site_name" content="Daily Harbour (OG)">
      <meta property="article:published_time" content="2024-05-02T00:00:00Z">
      <link rel="canonical" href="#{base}/news/harbour-reopens">
      <script type="application/ld+json">
      {"@context":"https://schema.org","@type":"NewsArticle","headline":"Harbour reopens after storm",
       "description":"The old harbour is open again &amp; busy.","datePublished":"2024-05-01T06:30:00+02:00",
       "inLanguage":"en-GB","author":[{"@type":"Person","name":"Ann Writer","url":"#{base}/staff/ann"}],
       "publisher":{"@type":"Organization","name":"The Daily Harbour"}}
      </script>
      </head><body><article><h1>Harbour reopens</h1><p>Text.</p></article></body></html>
    HTML
  end

  def self.watch(base)
    <<~HTML
      <!DOCTYPE html><html><head><title>Sunset timelapse - VideoTube</title>
      <meta property="og:title" content="Sunset timelapse">
      <link rel="alternate" type="application/json+oembed" href="#{base}/oembed?url=#{base}%2Fwatch%3Fv%3Dsun1&amp;format=json" title="Sunset">
      <link rel="alternate" type="text/xml+oembed" href="#{base}/oembed?format=xml">
      </head><body></body></html>
    HTML
  end

  def self.oembed(base)
    JSON.generate('version' => '1.0', 'type' => 'video', 'title' => 'Sunset timelapse',
                  'author_name' => 'Sky Channel', 'author_url' => '/@sky', 'provider_name' => 'VideoTube',
                  'provider_url' => "#{base}/", 'width' => 640, 'height' => 360,
                  'thumbnail_url' => '/media/thumb.jpg', 'thumbnail_width' => 480, 'thumbnail_height' => 360,
                  'html' => "<iframe width=\"640\" height=\"360\" src=\"#{base}/embed/sun1?feature=oembed\" " \
                            'frameborder="0" allow="autoplay; encrypted-media" referrerpolicy="strict-origin" ' \
                            'allowfullscreen></iframe><script src="x.js"></script>')
  end

  TWITTER = <<~HTML
    <html><head><title>
      Weekly notes  </title>
    <meta name="description" content="Notes &amp; links of the week">
    <meta name="twitter:card" content="summary_large_image">
    <meta name="twitter:title" content="Twitter title is not read">
    <meta name="twitter:image" content="/media/lead.jpg">
    </head><body></body></html>
  HTML

  CREATOR = <<~HTML
    <html lang="de"><head><title>Ein Essay</title>
    <meta property="og:title" content="Ein Essay">
    <meta name="fediverse:creator" content="@ann@social.example">
    </head><body></body></html>
  HTML

  FAKE_IMAGE = <<~HTML
    <html><head><meta property="og:title" content="Broken image">
    <meta property="og:image" content="/media/not-an-image.jpg"></head></html>
  HTML

  OMBOMB = <<~HTML
    <html><head><title>oEmbed bomb</title>
    <link rel="alternate" type="application/json+oembed" href="/oembed-bomb"></head></html>
  HTML

  OMDEEP = <<~HTML
    <html><head><title>Deep oEmbed</title>
    <link rel="alternate" type="application/json+oembed" href="/oembed-deep"></head></html>
  HTML

  class Server
    def initialize(opts)
      @opts = opts
      @log_lock = Mutex.new
    end

    def run
      bind = @opts[:bind] || '127.0.0.1'
      server = TCPServer.new(bind, 0)
      $stdout.puts "READY #{server.addr[1]}"
      $stdout.flush
      Thread.new do
        $stdin.read
        exit!(0)
      end
      loop do
        sock = server.accept
        Thread.new(sock) { |s| handle(s) }
      end
    end

    private

    def handle(sock)
      head = +''
      while (line = sock.gets)
        head << line
        break if line == "\r\n" || line == "\n"
      end
      method, target = head.lines.first.to_s.split
      headers = head.lines.drop(1).filter_map { |l| l.chomp.split(': ', 2) if l.include?(':') }
                    .to_h { |k, v| [k.downcase, v] }
      log(target, headers)
      route(sock, method, target.to_s, headers)
    rescue Errno::EPIPE, Errno::ECONNRESET, IOError
      nil
    ensure
      sock.close unless sock.closed?
    end

    def log(target, headers)
      return unless @opts[:log]

      line = JSON.generate(path: target, ua: headers['user-agent'], accept: headers['accept'],
                           accept_language: headers['accept-language'])
      @log_lock.synchronize { File.open(@opts[:log], 'a') { |f| f.puts(line) } }
    end

    def reply(sock, status, type, body, extra = {})
      sock.write("HTTP/1.1 #{status} X\r\nContent-Type: #{type}\r\nContent-Length: #{body.bytesize}\r\n" \
                 "#{extra.map { |k, v| "#{k}: #{v}\r\n" }.join}Connection: close\r\n\r\n")
      sock.write(body)
    end

    def redirect(sock, status, location)
      sock.write("HTTP/1.1 #{status} X\r\nLocation: #{location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    end

    def media(name)
      File.binread(File.join(@opts[:media], name))
    end

    def html(sock, body, type = 'text/html; charset=utf-8')
      reply(sock, 200, type, body)
    end

    def route(sock, _method, target, headers)
      base = "http://#{headers['host']}"
      path = target.sub(/\?.*/, '')
      case path
      when '/news/harbour-reopens' then html(sock, CardOrigin.news(base))
      when '/watch' then html(sock, CardOrigin.watch(base))
      when '/oembed' then reply(sock, 200, 'application/json', CardOrigin.oembed(base))
      when '/notes' then html(sock, TWITTER)
      when '/essay' then html(sock, CREATOR)
      when '/sjis'
        body = '<html><head><title>日本語の記事タイトル</title></head><body>本文</body></html>'.encode('Shift_JIS')
        html(sock, body, 'text/html; charset=Shift_JIS')
      when '/latin'
        body = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">" \
               "<title>Caf\xE9 cr\xE8me \x96 na\xEFve</title></head></html>".b
        html(sock, body, 'text/html')
      when '/plain' then html(sock, '<html><head><title>Plain page</title></head></html>')
      when %r{\A/page/(\d+)\z} then html(sock, "<html><head><title>Page #{Regexp.last_match(1)}</title></head></html>")
      when %r{\A/img-page/(\d+)\z}
        html(sock, "<html><head><meta property=\"og:title\" content=\"Image page #{Regexp.last_match(1)}\">" \
                   '<meta property="og:image" content="/media/lead.jpg"></head></html>')
      when '/photo-page'
        html(sock, '<html><head><title>Harbour photo</title><link rel="alternate" type="text/xml+oembed" ' \
                   'href="/oembed.xml?url=photo"></head></html>')
      when '/oembed.xml'
        reply(sock, 200, 'text/xml', '<?xml version="1.0" encoding="utf-8"?><oembed><version>1.0</version>' \
                                     '<type>photo</type><title>Harbour &amp; boats</title><author_name>Kim</author_name>' \
                                     "<author_url>#{base}/kim</author_url><provider_name>Photos</provider_name>" \
                                     '<url>/media/lead.jpg</url><width>1200</width><height>630</height></oembed>')
      when '/gif-page'
        html(sock, '<html><head><meta property="og:title" content="Animated"><meta property="og:image" ' \
                   'content="/media/anim.gif"></head></html>')
      when '/media/lead.jpg' then reply(sock, 200, 'image/jpeg', media('lead.jpg'))
      when '/media/thumb.jpg' then reply(sock, 200, 'image/jpeg', media('thumb.jpg'))
      when '/media/anim.gif' then reply(sock, 200, 'image/gif', media('anim.gif'))
      when '/media/not-an-image.jpg' then reply(sock, 200, 'image/jpeg', "<html>this is not a JPEG</html>\n" * 40)
      when '/photo.jpg' then reply(sock, 200, 'image/jpeg', media('lead.jpg'))
      when '/broken-image' then html(sock, FAKE_IMAGE)
      when '/go/1' then redirect(sock, 301, "#{base}/go/2")
      when '/go/2' then redirect(sock, 302, '/go/3')
      when '/go/3' then redirect(sock, 307, "#{base}/plain")
      when '/loop/1' then redirect(sock, 302, '/loop/2')
      when '/loop/2' then redirect(sock, 302, '/loop/3')
      when '/loop/3' then redirect(sock, 302, '/loop/4')
      when '/loop/4' then redirect(sock, 302, '/plain')
      when '/to-metadata' then redirect(sock, 302, 'http://169.254.169.254/latest/meta-data/')
      when '/big'
        html(sock, "<html><head><title>Big</title></head><body>#{'x' * (1024 * 1024 + 100)}</body></html>")
      when '/big-chunked'
        sock.write("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        chunk = "<p>#{'y' * 65_536}</p>"
        20.times { sock.write("#{chunk.bytesize.to_s(16)}\r\n#{chunk}\r\n") }
        sock.write("0\r\n\r\n")
      when '/slow'
        sock.write("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n")
        sock.write('<html><head><title>Slow')
        sleep 60
      when '/bomb'
        sock.write("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n" \
                   "Content-Length: #{bomb.bytesize}\r\nConnection: close\r\n\r\n")
        sock.write(bomb)
      when '/deep' then html(sock, "<html><body>#{'<div>' * 150_000}x#{'</div>' * 20}</body></html>")
      when '/metas'
        html(sock, "<html><head>#{'<meta>' * 100_000}<meta property=og:description content=d></head></html>")
      when '/ombomb' then html(sock, OMBOMB)
      when '/oembed-bomb'
        reply(sock, 200, 'application/json', "{\"version\":\"1.0\",\"type\":\"video\",\"title\":\"#{'a' * (1024 * 1024 + 10)}\"}")
      when '/omdeep' then html(sock, OMDEEP)
      when '/oembed-deep' then reply(sock, 200, 'application/json', ('[' * 5000) + (']' * 5000))
      else reply(sock, 404, 'text/plain', "not found\n")
      end
    end

    def bomb
      @bomb ||= begin
        io = StringIO.new(+'', 'wb')
        gz = Zlib::GzipWriter.new(io, 9)
        gz.write('<html><head><title>Bomb</title></head><body>')
        block = ' ' * (1024 * 1024)
        64.times { gz.write(block) }
        gz.close
        io.string
      end
    end
  end

  def self.main(argv)
    opts = {}
    OptionParser.new do |o|
      o.on('--media DIR') { |v| opts[:media] = v }
      o.on('--bind ADDR') { |v| opts[:bind] = v }
      o.on('--log FILE') { |v| opts[:log] = v }
    end.parse!(argv)
    Server.new(opts).run
  end
end

CardOrigin.main(ARGV) if $PROGRAM_NAME == __FILE__
