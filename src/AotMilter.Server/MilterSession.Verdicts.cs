using System.Diagnostics;
using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>
/// How an event is decided: the chain's filters in order (the first that does not continue decides), observers that
/// get no say, a filter that throws answered with the fallback, and the reply written for the MTA.
/// </summary>
public sealed partial class MilterSession
{
    /// <summary>
    /// Calls the event's callback of each filter (content events: the first filter only, in a chain) until one
    /// decides, from filter <see cref="_nextFilter"/> on. False when a callback did not complete synchronously: it is
    /// the pending one, and <see cref="Continue"/> takes its verdict and moves the chain on.
    /// </summary>
    private bool RunChain(MilterEvent e, scoped FrameArguments data, out Verdict verdict)
    {
        FilterDispatcher[] dispatchers = _dispatchers;
        int count = _copy is not null && e is MilterEvent.Header or MilterEvent.EndOfHeaders or MilterEvent.Body ? 1 : dispatchers.Length;
        for (int i = _nextFilter; i < count; i++)
        {
            FilterDispatcher d = dispatchers[i];
            ValueTask<Verdict> call;
            long started = Stopwatch.GetTimestamp();
            try
            {
                call = e switch
                {
                    MilterEvent.Connect => d.ConnectAsync(new ConnectInfo(data.Connect), Context),
                    MilterEvent.Helo => d.HeloAsync(data.Text, Context),
                    MilterEvent.MailFrom => d.MailFromAsync(new EnvelopeAddress(data.Envelope), Context),
                    MilterEvent.RcptTo => d.RcptToAsync(new EnvelopeAddress(data.Envelope), Context),
                    MilterEvent.Data => d.DataAsync(Context),
                    MilterEvent.Header => d.HeaderAsync(new HeaderField(data.Header), Context),
                    MilterEvent.EndOfHeaders => d.EndOfHeadersAsync(Context),
                    MilterEvent.Body => d.BodyAsync(data.Text, Context),
                    MilterEvent.Unknown => d.UnknownAsync(data.Text, Context),
                    _ => default,
                };
            }
            catch (Exception ex)
            {
                call = new ValueTask<Verdict>(Fail(i, e, ex));
            }

            if (!call.IsCompleted)
            {
                _pending = Pending.Decision;
                _pendingDecision = call;
                _pendingFilter = i;
                _pendingEvent = e;
                _pendingStarted = started;
                verdict = default;
                return false;
            }

            Verdict v = Result(call, i, e);
            Metrics.Latency(e, started);
            Metrics.Verdict(i, e, v.Kind);

            v = Normalize(e, v);
            if (!v.IsContinue)
            {
                verdict = v;
                return true;
            }
        }

        verdict = Verdict.Continue;
        return true;
    }

    /// <summary>Skip means something only for body chunks of a single filter; elsewhere it is continue.</summary>
    private Verdict Normalize(MilterEvent e, Verdict v)
        => v.Kind == VerdictKind.Skip && (e != MilterEvent.Body || _dispatchers.Length > 1) ? Verdict.Continue : v;

    private Verdict Result(ValueTask<Verdict> completed, int filter, MilterEvent e)
    {
        if (completed.IsCompletedSuccessfully)
        {
            return completed.Result;
        }

        try
        {
            return completed.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            return Fail(filter, e, ex);
        }
    }

    /// <summary>
    /// Runs abort or close for every filter. Callbacks that do not complete synchronously run on; false means the
    /// connection must await them (<see cref="CompletePendingAsync"/>) before going on.
    /// </summary>
    private bool RunObservers(MilterEvent e)
    {
        List<Task>? running = null;
        for (int i = 0; i < _dispatchers.Length; i++)
        {
            FilterDispatcher d = _dispatchers[i];
            ValueTask call;
            try
            {
                call = e == MilterEvent.Abort ? d.AbortAsync(Context) : d.CloseAsync(Context);
            }
            catch (Exception ex)
            {
                Log.FilterFailed(_log, _chain.Filters[i].Name, e, Context.ConnectionId, ex);
                continue;
            }

            if (call.IsCompletedSuccessfully)
            {
                continue;
            }

            (running ??= []).Add(ObserveAsync(call, i, e));
        }

        if (running is null)
        {
            return true;
        }

        _pending = Pending.Observers;
        _pendingObservers = Task.WhenAll(running);
        return false;
    }

    private async Task ObserveAsync(ValueTask call, int filter, MilterEvent e)
    {
        try
        {
            await call.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.FilterFailed(_log, _chain.Filters[filter].Name, e, Context.ConnectionId, ex);
        }
    }

    private Verdict Fail(int filter, MilterEvent e, Exception ex)
    {
        Metrics.Exception(filter);
        Log.FilterFailed(_log, _chain.Filters[filter].Name, e, Context.ConnectionId, ex);
        return Fallback;
    }

    private void Reply(MilterEvent e, Verdict verdict)
    {
        if ((_protocol & NoReplyBit(e)) != 0)
        {
            // The MTA does not wait for an answer. A failure is kept for the next point where we can answer; a skip
            // has nothing to answer (the MTA keeps sending), and kept it would end the message with 's'.
            if (verdict.Kind is not (VerdictKind.Continue or VerdictKind.Skip) && _inMessage)
            {
                _pendingFailure ??= verdict;
            }

            return;
        }

        if (verdict.IsContinue && _pendingFailure is { } failure && _inMessage)
        {
            verdict = failure;
        }

        bool decidesMessage = verdict.Kind switch
        {
            VerdictKind.Continue or VerdictKind.Skip => false,
            VerdictKind.Reject or VerdictKind.TempFail => e is not (MilterEvent.RcptTo or MilterEvent.Unknown),
            _ => true,
        };
        if (decidesMessage && _inMessage)
        {
            _messageDecided = true;
            _inMessage = false;
            NoteOutcome(verdict.Kind);
            RememberQueueId();
        }

        WriteVerdict(verdict);
    }

    private void WriteVerdict(Verdict verdict)
    {
        switch (verdict.Kind)
        {
            case VerdictKind.Continue:
                MilterFrameWriter.WriteEmpty(_replies, (byte)MilterResponse.Continue);
                break;
            case VerdictKind.Accept:
                MilterFrameWriter.WriteEmpty(_replies, (byte)MilterResponse.Accept);
                break;
            case VerdictKind.Discard:
                MilterFrameWriter.WriteEmpty(_replies, (byte)MilterResponse.Discard);
                break;
            case VerdictKind.Skip:
                MilterFrameWriter.WriteEmpty(_replies, (byte)((_protocol & ProtocolFlags.Skip) != 0 ? MilterResponse.Skip : MilterResponse.Continue));
                break;
            case VerdictKind.Reject:
            case VerdictKind.TempFail:
                bool transient = verdict.Kind == VerdictKind.TempFail;
                SmtpReply? pending = ContextControl.TakeReply();
                SmtpReply? reply = verdict.Reply ?? pending;
                if (reply is not null && reply.IsTransient == transient)
                {
                    MilterFrameWriter.Write(_replies, (byte)MilterResponse.ReplyCode, reply.Payload);
                }
                else
                {
                    MilterFrameWriter.WriteEmpty(_replies, (byte)(transient ? MilterResponse.TempFail : MilterResponse.Reject));
                }

                break;
        }
    }
}
