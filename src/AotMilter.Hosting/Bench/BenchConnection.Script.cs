using System.Diagnostics;
using AotMilter.Protocol;

namespace AotMilter.Hosting.Bench;

/// <summary>The MTA's side of the conversation: which frames go out next, as the negotiated flags allow.</summary>
internal sealed partial class BenchConnection
{
    /// <summary>Where a connection stands; the awaited steps name the event whose reply is awaited.</summary>
    private enum Step : byte
    {
        Connecting,
        Negotiate,
        Connect,
        Helo,
        Mail,
        Rcpt,
        Data,
        Header,
        EndOfHeaders,
        Body,
        EndOfMessage,
        MessageDone,
        Quit,
        Idle,
    }

    private void BeginMessage(long number)
    {
        _messageStart = Stopwatch.GetTimestamp();
        _header = 0;
        _body = 0;
        _gotHeader = false;

        // The messages in turn, so each has its share of the run whatever the number of connections.
        BenchMessage[] messages = _packets.Messages;
        _message = messages.Length == 1 ? messages[0] : messages[(number - 1) % messages.Length];

        // A distinct queue id (macro i) per message, as an MTA sends it at MAIL and again at end of message.
        Span<byte> id = _mail.AsSpan(BenchPackets.QueueIdOffset, BenchPackets.QueueIdLength);
        for (int i = id.Length - 1; i >= 0; i--)
        {
            id[i] = (byte)"0123456789ABCDEF"[(int)(number & 0xf)];
            number >>= 4;
        }

        id.CopyTo(_endOfMessage.AsSpan(BenchPackets.QueueIdOffset, BenchPackets.QueueIdLength));
    }

    /// <summary>
    /// Queues the frames of every step that awaits no reply, up to and including the first that does, and returns that
    /// step (<see cref="Step.Quit"/> when the connection is done, <see cref="Step.Idle"/> in idle mode before MAIL).
    /// </summary>
    private Step QueueUntilReply()
    {
        ProtocolFlags p = _protocol;
        BenchSettings settings = _run.Settings;
        while (true)
        {
            switch (_step)
            {
                case Step.Negotiate:
                    Queue(_packets.Negotiate);
                    return Step.Negotiate;
                case Step.Connect:
                    _step = Step.Helo;
                    if ((p & ProtocolFlags.NoConnect) == 0)
                    {
                        Queue(_packets.Connect);
                        if ((p & ProtocolFlags.NoReplyConnect) == 0)
                        {
                            return Step.Connect;
                        }
                    }

                    break;
                case Step.Helo:
                    _step = Step.Mail;
                    if ((p & ProtocolFlags.NoHelo) == 0)
                    {
                        Queue(_packets.Helo);
                        if ((p & ProtocolFlags.NoReplyHelo) == 0)
                        {
                            return Step.Helo;
                        }
                    }

                    break;
                case Step.Mail:
                    if (settings.Idle > 0)
                    {
                        return Step.Idle;
                    }

                    _step = Step.Rcpt;
                    if ((p & ProtocolFlags.NoMail) == 0)
                    {
                        Queue(_mail);
                        if ((p & ProtocolFlags.NoReplyMail) == 0)
                        {
                            return Step.Mail;
                        }
                    }

                    break;
                case Step.Rcpt:
                    _step = Step.Data;
                    if ((p & ProtocolFlags.NoRcpt) == 0)
                    {
                        Queue(_packets.Rcpt);

                        // With a reject expected, the verdict is awaited whatever the flags.
                        if ((p & ProtocolFlags.NoReplyRcpt) == 0 || settings.ExpectReject)
                        {
                            return Step.Rcpt;
                        }
                    }

                    break;
                case Step.Data:
                    _step = Step.Header;
                    if (_version >= 4 && (p & ProtocolFlags.NoData) == 0)
                    {
                        Queue(_packets.Data);
                        if ((p & ProtocolFlags.NoReplyData) == 0)
                        {
                            return Step.Data;
                        }
                    }

                    break;
                case Step.Header:
                    if (_header >= _message.Headers.Length || (p & ProtocolFlags.NoHeaders) != 0)
                    {
                        _step = Step.EndOfHeaders;
                        break;
                    }

                    Queue(((p & ProtocolFlags.HeaderLeadingSpace) != 0 ? _message.HeadersWithLeadingSpace : _message.Headers)[_header++]);
                    if ((p & ProtocolFlags.NoReplyHeader) == 0)
                    {
                        return Step.Header;
                    }

                    break;
                case Step.EndOfHeaders:
                    _step = Step.Body;
                    if ((p & ProtocolFlags.NoEndOfHeaders) == 0)
                    {
                        Queue(_packets.EndOfHeaders);
                        if ((p & ProtocolFlags.NoReplyEndOfHeaders) == 0)
                        {
                            return Step.EndOfHeaders;
                        }
                    }

                    break;
                case Step.Body:
                    if (_body >= _message.Body.Length || (p & ProtocolFlags.NoBody) != 0)
                    {
                        _step = Step.EndOfMessage;
                        break;
                    }

                    Queue(_message.Body[_body++]);
                    if ((p & ProtocolFlags.NoReplyBody) == 0)
                    {
                        return Step.Body;
                    }

                    break;
                case Step.EndOfMessage:
                    Queue(_endOfMessage);
                    return Step.EndOfMessage;
                case Step.MessageDone:
                    _onConnection++;
                    if (_onConnection < settings.MessagesPerConnection && _run.TryBeginMessage(out long number))
                    {
                        // The next transaction of the same SMTP session, as Postfix resets it.
                        Queue(_packets.Abort);
                        BeginMessage(number);
                        _step = Step.Mail;
                        break;
                    }

                    Queue(_packets.Quit);
                    _step = Step.Quit;
                    return Step.Quit;
                default:
                    throw new UnreachableException($"step {_step}");
            }
        }
    }

    /// <summary>Adds a frame to the next write: a lone frame is sent from its own array, a run is copied together.</summary>
    private void Queue(byte[] frame)
    {
        if (_single is null && _out.WrittenCount == 0)
        {
            _single = frame;
            return;
        }

        if (_single is not null)
        {
            _single.CopyTo(_out.GetSpan(_single.Length));
            _out.Advance(_single.Length);
            _single = null;
        }

        frame.CopyTo(_out.GetSpan(frame.Length));
        _out.Advance(frame.Length);
    }
}
