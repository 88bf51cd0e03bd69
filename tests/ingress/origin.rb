#!/usr/bin/env ruby
# frozen_string_literal: true

# origin.rb -- the fixture fediverse for ingress tests and the demo: one loopback HTTP
# server that plays any number of remote hosts. A request for http://127.0.0.2:PORT/a/b
# is answered from ROOT/127.0.0.2/a/b (the Host header without its port names the
# folder), so actors, notes, collections and media of several "servers" live side by side.
#
#   ruby origin.rb --root DIR [--bind ADDR]... [--keys KEYS.json] [--require-signature]
#                  [--log FILE]
#
# - Prints "READY <port>" once listening (every --bind address, default 127.0.0.1, on one
#   port) and exits when stdin closes or on TERM/INT.
# - A missing <path> whose <path>.json exists is served as application/activity+json;
#   other files get a content type from their extension.
# - /_status/<code> answers with that status; /_hang never answers; /_delay/<ms>/<path>
#   serves <path> after that many milliseconds.
# - --require-signature: a GET must carry a draft-cavage Signature over (request-target),
#   host and date, made with a key listed in KEYS.json ({"keyId": "public PEM"}), or it
#   gets 401 (authorized fetch).
# - --log appends one JSON line per request: {method, host, path, signed, status}.
# - /.well-known/webfinger?resource=R is answered (application/jrd+json) from
#   ROOT/<host>/.well-known/webfinger/R with '/' in R as '_'; /_loop redirects to itself.
require 'json'
require 'openssl'
require 'optparse'
require 'socket'
require 'webrick'

module Origin
  TYPES = {
    '.json' => 'application/activity+json', '.jpg' => 'image/jpeg', '.jpeg' => 'image/jpeg',
    '.png' => 'image/png', '.gif' => 'image/gif', '.webp' => 'image/webp',
    '.mp4' => 'video/mp4', '.webm' => 'video/webm', '.mp3' => 'audio/mpeg',
    '.ogg' => 'audio/ogg', '.html' => 'text/html; charset=utf-8', '.txt' => 'text/plain'
  }.freeze

  # Checks a draft-cavage Signature header against the known public keys.
  class Verifier
    REQUIRED = ['(request-target)', 'host', 'date'].freeze

    def initialize(keys)
      @keys = keys.transform_values { |pem| OpenSSL::PKey.read(pem) }
    end

    # true, or a string saying why the signature is not acceptable
    def verify(req)
      header = req['signature']
      return 'no Signature header' unless header

      params = header.scan(/(\w+)="([^"]*)"/).to_h
      key = @keys[params['keyId']]
      return "unknown keyId #{params['keyId'].inspect}" unless key

      names = (params['headers'] || 'date').split
      missing = REQUIRED - names
      return "signature does not cover #{missing.join(', ')}" unless missing.empty?

      signed = names.map { |n| "#{n}: #{value_of(req, n)}" }.join("\n")
      ok = key.verify(OpenSSL::Digest.new('SHA256'), params['signature'].to_s.unpack1('m'), signed)
      ok ? true : 'signature does not verify'
    rescue OpenSSL::PKey::PKeyError, ArgumentError => e
      "signature unreadable: #{e.message}"
    end

    private

    def value_of(req, name)
      return "#{req.request_method.downcase} #{req.unparsed_uri}" if name == '(request-target)'

      req[name]
    end
  end

  # Serves ROOT/<host>/<path>.
  class Servlet < WEBrick::HTTPServlet::AbstractServlet
    def initialize(server, opts)
      super(server)
      @opts = opts
    end

    def do_GET(req, res) # rubocop:disable Naming/MethodName
      signed = @opts[:verifier] ? @opts[:verifier].verify(req) : nil
      serve(req, res, signed)
      log(req, res, signed)
    end

    alias do_HEAD do_GET

    private

    def serve(req, res, signed)
      path = req.path
      if path == '/_hang'
        sleep
      elsif (m = path.match(%r{\A/_delay/(\d+)(/.*)\z}))
        sleep(m[1].to_i / 1000.0)
        serve_file(req, res, m[2])
      elsif (m = path.match(%r{\A/_status/(\d{3})\z}))
        res.status = m[1].to_i
      elsif path == '/_loop'
        res.status = 302
        res['Location'] = "http://#{req.host}:#{req.port}/_loop"
      elsif path == '/.well-known/webfinger'
        serve_webfinger(req, res)
      elsif @opts[:verifier] && signed != true
        res.status = 401
        res.body = "signature required: #{signed}\n"
      else
        serve_file(req, res)
      end
    end

    def serve_file(req, res, path = req.path)
      host = req.host.to_s.downcase
      base = File.expand_path(File.join(@opts[:root], host))
      file = File.expand_path(File.join(base, path))
      file = "#{file}.json" unless File.file?(file)
      unless file.start_with?("#{base}/") && File.file?(file)
        res.status = 404
        return
      end
      res.status = 200
      res['Content-Type'] = TYPES.fetch(File.extname(file).downcase, 'application/octet-stream')
      res.body = File.binread(file)
    end

    def serve_webfinger(req, res)
      resource = req.query['resource'].to_s.tr('/', '_')
      file = File.join(@opts[:root], req.host.to_s.downcase, '.well-known', 'webfinger', resource)
      if resource.empty? || resource.start_with?('.') || !File.file?(file)
        res.status = 404
        return
      end
      res.status = 200
      res['Content-Type'] = 'application/jrd+json; charset=utf-8'
      res.body = File.binread(file)
    end

    def log(req, res, signed)
      return unless @opts[:log]

      line = JSON.generate(method: req.request_method, host: req.host, path: req.unparsed_uri,
                           signed: signed == true, status: res.status)
      @opts[:log_lock].synchronize { File.open(@opts[:log], 'a') { |f| f.puts(line) } }
    end
  end

  def self.free_port(addrs)
    50.times do
      port = 20_000 + rand(40_000)
      free = addrs.all? do |a|
        TCPServer.new(a, port).close
        true
      rescue SystemCallError
        false
      end
      return port if free
    end
    raise 'no free port'
  end

  def self.run(argv)
    opts = { binds: [], log_lock: Mutex.new }
    OptionParser.new do |o|
      o.on('--root DIR') { |v| opts[:root] = v }
      o.on('--bind ADDR') { |v| opts[:binds] << v }
      o.on('--keys FILE') { |v| opts[:keys] = JSON.parse(File.read(v)) }
      o.on('--require-signature') { opts[:require_signature] = true }
      o.on('--log FILE') { |v| opts[:log] = v }
    end.parse!(argv)
    raise 'origin.rb: --root DIR is required' unless opts[:root]

    opts[:binds] = ['127.0.0.1'] if opts[:binds].empty?
    opts[:verifier] = Verifier.new(opts[:keys] || {}) if opts[:require_signature]
    port = free_port(opts[:binds])
    server = WEBrick::HTTPServer.new(BindAddress: opts[:binds].first, Port: port, DoNotListen: true,
                                     Logger: WEBrick::Log.new(File::NULL), AccessLog: [])
    opts[:binds].each { |a| server.listen(a, port) }
    server.mount('/', Servlet, opts)
    %w[TERM INT].each { |sig| trap(sig) { server.shutdown } }
    Thread.new do
      $stdin.read
      server.shutdown
    end
    $stdout.puts "READY #{port}"
    $stdout.flush
    server.start
  end
end

Origin.run(ARGV) if $PROGRAM_NAME == __FILE__
