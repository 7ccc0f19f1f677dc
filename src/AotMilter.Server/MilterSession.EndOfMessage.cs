using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using AotMilter.Hosting;
using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>End of message: the filters' last word, their modifications, and (for a chain) the replay.</summary>
public sealed partial class MilterSession
{
    /// <summary>Enough for the verdict frame that follows a replaced body (a reply with a few lines of text).</summary>
    private const int VerdictRoom = 4096;

    /// <summary>
    /// The filters' end of message (unless a failure kept from a no-reply event decides it first); false when it runs
    /// on: then <see cref="Continue"/> finishes the message with its verdict.
    /// </summary>
    private bool RunEndOfMessage()
    {
        if (_pendingFailure is { } failure)
        {
            FinishMessage(failure);
            return true;
        }

        ValueTask<Verdict> call = StartEndOfMessage();
        _step = Step.EndOfMessageWait;
        if (!call.IsCompleted)
        {
            _pending = Pending.EndOfMessage;
            _pendingDecision = call;
            _pendingFilter = 0;
            _pendingEvent = MilterEvent.EndOfMessage;
            return false;
        }

        Verdict verdict = call.IsCompletedSuccessfully ? call.Result : EndOfMessageFailed(call);
        if (_copy is null)
        {
            Metrics.Latency(MilterEvent.EndOfMessage, _pendingStarted);
            Metrics.Verdict(0, MilterEvent.EndOfMessage, verdict.Kind);
        }

        FinishMessage(verdict);
        return true;
    }

    private ValueTask<Verdict> StartEndOfMessage()
    {
        if (_copy is not null)
        {
            // Each filter of the chain rolls back its own failure; this mark undoes the whole chain's edits when its
            // end of message as a whole passes the deadline.
            _endOfMessageMark = _edits.Mark();
            return RunChainEndOfMessageAsync();
        }

        _edits.BeginFilter();
        _endOfMessageMark = _edits.Mark();
        _pendingStarted = Stopwatch.GetTimestamp();
        try
        {
            return _dispatchers[0].EndOfMessageAsync(_editor, Context);
        }
        catch (Exception ex)
        {
            _edits.Rollback(_endOfMessageMark);
            return new ValueTask<Verdict>(Fail(0, MilterEvent.EndOfMessage, ex));
        }
    }

    private Verdict EndOfMessageFailed(ValueTask<Verdict> completed)
    {
        try
        {
            return completed.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            _edits.Rollback(_endOfMessageMark);
            return Fail(0, MilterEvent.EndOfMessage, ex);
        }
    }

    /// <summary>Sends the edits and the final verdict (a skip there means continue: the message is accepted).</summary>
    private void FinishMessage(Verdict verdict)
    {
        _step = Step.Idle;
        if (verdict.Kind == VerdictKind.Skip)
        {
            verdict = Verdict.Continue;
        }

        bool replaced = _copy is null ? _editor.BodyReplaced : _copy.BodyReplaced;
        ReadOnlySpan<byte> body = !replaced ? default : _copy is null ? _edits.BodyContent : _copy.Body;

        // Edits only make sense for a message that is delivered, and only when the memory budget has room for them
        // (otherwise the fallback verdict goes out without any, as when a chain runs past its deadline).
        bool quarantined = false;
        int modifications = -1;
        if (verdict.Kind is not (VerdictKind.Reject or VerdictKind.TempFail or VerdictKind.Discard) && HasRoomForEdits(body.Length, ref verdict))
        {
            quarantined = _editor.Quarantined;
            modifications = _editor.Count;

            // The body goes last: Postfix refuses a body replacement interleaved with other edits.
            _replies.Write(_edits.EditFrames);
            if (replaced)
            {
                if (body.IsEmpty)
                {
                    // An empty replacement still has to reach the MTA to empty the body.
                    MilterFrameWriter.WriteEmpty(_replies, (byte)MilterResponse.ReplaceBody);
                }
                else
                {
                    // HasRoomForEdits made room for the body's frames and the verdict after them at once: an output
                    // that grew by doubling as they were written, and once more for the verdict's few bytes, copied a
                    // 10 MiB body over two or three more times on the event loop.
                    MilterFrameWriter.WriteChunked(_replies, (byte)MilterResponse.ReplaceBody, body);
                }
            }
        }

        RememberQueueId();
        NoteOutcome(verdict.IsContinue ? VerdictKind.Accept : verdict.Kind, quarantined);
        WriteVerdict(verdict);
        _inMessage = false;
        _messageDecided = true;
        _edits.Reset();

        // Counted once the edits are in the output and the editor has let go of its copy, so that whoever sees the
        // count also sees the memory where it now is.
        if (modifications >= 0)
        {
            Metrics.Modified(modifications);
        }
    }

    /// <summary>
    /// Makes room in the output for the edits, the replaced body and the verdict, reserved against the memory budget
    /// (they stay there until the MTA takes them). False when the budget has no room: then
    /// <paramref name="verdict"/> becomes the fallback, logged, and no edit is sent.
    /// </summary>
    private bool HasRoomForEdits(int bodyLength, ref Verdict verdict)
    {
        // The verdict's room is asked for only with a body: on its own it is a few bytes, and asking for 4 KiB on
        // every message grew the output past the size it keeps between connections (12 KiB allocated per connection).
        long room = (long)_edits.EditFrames.Length + (bodyLength > 0 ? MilterFrameWriter.ChunkedLength(bodyLength) + VerdictRoom : 0);
        if (room == 0 || (room <= int.MaxValue && _replies.TryReserveRoom((int)room)))
        {
            return true;
        }

        Log.RepliesOverBudget(_log, Context.ConnectionId, room);
        verdict = Fallback;
        return false;
    }

    /// <summary>
    /// End of message for a chain: the first filter saw the content live; each later filter is shown the headers and
    /// body with the earlier filters' changes applied, then its own end of message. The first decision wins.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Verdict> RunChainEndOfMessageAsync()
    {
        MessageCopy copy = _copy!;
        if (copy.Overflowed)
        {
            ChainCopyOverflowed(copy);
            return Fallback;
        }

        for (int i = 0; i < _dispatchers.Length; i++)
        {
            if (i > 0)
            {
                Verdict shown = await ReplayContentAsync(i).ConfigureAwait(false);
                if (!shown.IsContinue)
                {
                    return shown;
                }
            }

            _edits.BeginFilter();
            EditorMark mark = _edits.Mark();
            long started = Stopwatch.GetTimestamp();
            Verdict v;
            try
            {
                v = await _dispatchers[i].EndOfMessageAsync(_editor, Context).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _edits.Rollback(mark);
                v = Fail(i, MilterEvent.EndOfMessage, ex);
            }

            Metrics.Latency(MilterEvent.EndOfMessage, started);
            Metrics.Verdict(i, MilterEvent.EndOfMessage, v.Kind);

            if (v.Kind == VerdictKind.Skip)
            {
                v = Verdict.Continue;
            }

            if (!v.IsContinue)
            {
                return v;
            }

            // What the next filter sees: this filter's header edits and body.
            copy.ApplyHeaderEdits(_edits.HeaderEditsSince(mark), _edits.EditFrames);
            if (_edits.CurrentFilterReplacedBody)
            {
                copy.ReplaceBody(_edits.BodyContent);
            }

            if (copy.Overflowed)
            {
                // The edited message no longer fits: neither the later filters nor the MTA can be given it whole.
                ChainCopyOverflowed(copy);
                return Fallback;
            }
        }

        return Verdict.Continue;
    }

    private void ChainCopyOverflowed(MessageCopy copy)
    {
        if (copy.OverflowedBudget)
        {
            Log.ChainMessageOverBudget(_log, Context.ConnectionId);
        }
        else
        {
            Log.ChainMessageTooLarge(_log, Context.ConnectionId, copy.MaxSize);
        }
    }

    /// <summary>Shows filter <paramref name="index"/> the message as it stands: headers, end of headers, body.</summary>
    private async ValueTask<Verdict> ReplayContentAsync(int index)
    {
        ProtocolFlags wants = _chain.Filters[index].Protocol;
        if ((wants & ProtocolFlags.NoHeaders) == 0)
        {
            for (int h = 0; h < _copy!.HeaderCount; h++)
            {
                Verdict v = await Shown(index, MilterEvent.Header, h).ConfigureAwait(false);
                if (!v.IsContinue)
                {
                    return v;
                }
            }
        }

        if ((wants & ProtocolFlags.NoEndOfHeaders) == 0)
        {
            Verdict v = await Shown(index, MilterEvent.EndOfHeaders, 0).ConfigureAwait(false);
            if (!v.IsContinue)
            {
                return v;
            }
        }

        if ((wants & ProtocolFlags.NoBody) == 0)
        {
            for (int offset = 0; offset < _copy!.BodyLength; offset += MilterFrameWriter.MaxChunkSize)
            {
                Verdict v = await Shown(index, MilterEvent.Body, offset).ConfigureAwait(false);
                if (v.Kind == VerdictKind.Skip)
                {
                    break;
                }

                if (!v.IsContinue)
                {
                    return v;
                }
            }
        }

        return Verdict.Continue;
    }

    /// <summary>One replayed event; spans over the copy exist only inside this synchronous call.</summary>
    private async ValueTask<Verdict> Shown(int index, MilterEvent e, int position)
    {
        try
        {
            return await Call(index, e, position).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return Fail(index, e, ex);
        }
    }

    private ValueTask<Verdict> Call(int index, MilterEvent e, int position)
    {
        FilterDispatcher d = _dispatchers[index];
        switch (e)
        {
            case MilterEvent.Header:
                _copy!.GetHeader(position, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value);
                return d.HeaderAsync(new HeaderField(name, value), Context);
            case MilterEvent.EndOfHeaders:
                return d.EndOfHeadersAsync(Context);
            default:
                ReadOnlySpan<byte> body = _copy!.Body;
                return d.BodyAsync(body.Slice(position, Math.Min(MilterFrameWriter.MaxChunkSize, body.Length - position)), Context);
        }
    }
}
