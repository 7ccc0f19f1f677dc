namespace AotMilter.Server;

/// <summary>The connection's deadlines, checked on its loop's ticks, and what happens when one passes.</summary>
internal sealed partial class MilterConnection
{
    /// <summary>
    /// The connection's clock, in milliseconds: the loop's (read once per wake-up, free) unless the options name
    /// another <see cref="TimeProvider"/>.
    /// </summary>
    private long Now => _clock is null ? _loop.Now : _clock.GetTimestamp() * 1000 / _clock.TimestampFrequency;

    /// <summary>Asks the loop for a tick no later than <paramref name="at"/> on the connection's clock.</summary>
    private void RequestTickAt(long at)
    {
        if (_clock is null)
        {
            _loop.RequestTick(at);
        }
        else
        {
            // Another clock: the same distance on the loop's own.
            _loop.RequestTick(_loop.Now + Math.Max(0, at - Now));
        }
    }

    void IEventHandler.OnTick(long now)
    {
        if (FlowedContext is { } flowed)
        {
            ExecutionContext.Run(flowed, static state => ((MilterConnection)state!).GuardedCheckDeadlines(), this);
            return;
        }

        GuardedCheckDeadlines();
    }

    private void GuardedCheckDeadlines()
    {
        try
        {
            CheckDeadlines(Now);
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    /// <summary>Closes the connection whose current wait passed its deadline; asks for an earlier tick when one is near.</summary>
    private void CheckDeadlines(long now)
    {
        switch (_state)
        {
            case State.Reading:
                if (!_session.IsNegotiated)
                {
                    if (Passed(now, _openedAt, _options.NegotiationTimeout))
                    {
                        Close($"no option negotiation within {Seconds(_options.NegotiationTimeout)}s of connecting");
                        return;
                    }
                }

                if (_end > _start)
                {
                    if (Passed(now, _partialSince, _options.FrameTimeout))
                    {
                        Close($"a frame did not arrive whole within {Seconds(_options.FrameTimeout)}s of its first byte ({_end - _start} of {Math.Max(_required, _end - _start + 1)} bytes)");
                    }
                }
                else if (Passed(now, _lastCommandAt, _options.ReadTimeout))
                {
                    Close($"no command from the MTA for {Seconds(_options.ReadTimeout)}s");
                }
                else
                {
                    ShrinkIdleBuffer();
                }

                break;
            case State.Flushing:
                if (Passed(now, _flushSince, _options.FrameTimeout))
                {
                    Close($"the MTA did not take replies for {Seconds(_options.FrameTimeout)}s");
                }

                break;
            case State.Waiting:
                CheckCallbackDeadline(now);
                break;
        }
    }

    private bool Passed(long now, long since, TimeSpan limit)
    {
        long at = since + (long)limit.TotalMilliseconds;
        if (now >= at)
        {
            return true;
        }

        RequestTickAt(at);
        return false;
    }

    /// <summary>
    /// A callback runs: at its deadline its token fires and its result will be replaced by the fallback; if it still
    /// has not returned a grace period later, it is abandoned. Until the deadline, progress keeps an end of message's
    /// MTA waiting: progress is never sent past it, so the MTA's own timeout is not held off for ever.
    /// </summary>
    private void CheckCallbackDeadline(long now)
    {
        if (!_callbackCancelled)
        {
            if (now >= _callbackDeadline)
            {
                _callbackCancelled = true;
                Log.CallbackTimedOut(_log, Id, _session.PendingCallback, _options.CallbackTimeout.TotalSeconds);
                _session.CallbackDeadlinePassed();
                RequestTickAt(now + AbandonGraceMilliseconds);
                return;
            }

            RequestTickAt(_callbackDeadline);
            if (now >= _nextProgressAt)
            {
                SendProgressNow();
                _nextProgressAt = now + (long)_options.ProgressInterval.TotalMilliseconds;
            }

            RequestTickAt(_nextProgressAt);
            return;
        }

        if (now >= _callbackDeadline + AbandonGraceMilliseconds)
        {
            Abandon();
        }
        else
        {
            RequestTickAt(_callbackDeadline + AbandonGraceMilliseconds);
        }
    }

    /// <summary>The MTA hung up (or the socket failed) while a callback runs: tell the callback, free the descriptor now.</summary>
    private void OnHangUpWhileWaiting()
    {
        if (_hungUp)
        {
            return;
        }

        _hungUp = true;
        Log.HungUpDuringCallback(_log, Id, _session.PendingCallback);
        ReleaseDescriptor();
        if (!_callbackCancelled)
        {
            _callbackCancelled = true;
            _callbackDeadline = Now;
            _session.ContextControl.AbortCallback();
        }

        RequestTickAt(_callbackDeadline + AbandonGraceMilliseconds);
    }

    /// <summary>Gives up on a callback that ignored its token: the fallback goes to the MTA (if it still listens), the connection closes.</summary>
    private void Abandon()
    {
        string outcome = "the connection closed";
        if (!_hungUp)
        {
            _session.AbandonPending();
            try
            {
                outcome = TryFlush() ? "the fallback verdict sent" : "the fallback verdict queued";
            }
            catch (ConnectionIOException)
            {
                // The MTA is gone as well; nothing more to tell it.
            }
        }

        Log.CallbackAbandoned(_log, Id, _session.PendingCallback, AbandonGraceMilliseconds, outcome);
        Close(null, abandoned: true);
    }
}
