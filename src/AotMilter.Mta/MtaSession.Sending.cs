using System.Text;
using AotMilter.Mta.Model;
using AotMilter.Protocol;

namespace AotMilter.Mta;

// What goes on the wire for headers, body chunks and macros, as the profile's MTA sends them.
public sealed partial class MtaSession
{
    private async Task<StageResult> SendHeaderAsync(Transaction tx, byte[] name, byte[] value)
    {
        string argument = Encoding.UTF8.GetString(name);
        if (tx.Finished || tx.Unfiltered is not null)
        {
            return Record(NotSent(MilterEvent.Header, argument, tx.FinishedBecause ?? tx.Unfiltered));
        }

        if (Declined(ProtocolFlags.NoHeaders, MilterEvent.Header, argument, out StageResult? skipped))
        {
            if (!tx.Stages.Any(s => s.Stage == MilterEvent.Header))
            {
                Record(skipped);
            }

            return skipped;
        }

        ReadOnlyMemory<byte> sent = value;
        if (!LeadingSpace && value.Length > 0 && value[0] == (byte)' ')
        {
            sent = sent[1..];
        }

        if (Profile.Macros.ContainsKey('L'))
        {
            await SendMacrosAsync('L').ConfigureAwait(false);
        }

        MilterReply reply = await Client.HeaderAsync(name, sent).ConfigureAwait(false);
        return await MessageVerdictAsync(MilterEvent.Header, argument, reply, null).ConfigureAwait(false);
    }

    private async Task<StageResult> SendBodyAsync(Transaction tx, ReadOnlyMemory<byte> content)
    {
        if (tx.Finished || tx.Unfiltered is not null || Declined(ProtocolFlags.NoBody, MilterEvent.Body, null, out _))
        {
            return Record(NotSent(MilterEvent.Body, $"{content.Length} bytes",
                tx.FinishedBecause ?? tx.Unfiltered ?? "the milter declined body events in negotiation"));
        }

        StageResult? last = null;
        while (!content.IsEmpty)
        {
            ReadOnlyMemory<byte> chunk = content[..Math.Min(content.Length, MaxChunk)];
            content = content[chunk.Length..];
            if (Profile.Macros.ContainsKey('B'))
            {
                await SendMacrosAsync('B').ConfigureAwait(false);
            }

            MilterReply reply = await Client.BodyAsync(chunk).ConfigureAwait(false);
            last = await MessageVerdictAsync(MilterEvent.Body, $"{chunk.Length} bytes", reply, null).ConfigureAwait(false);
            if (reply.Kind == MilterReplyKind.Skip || tx.Finished || tx.Unfiltered is not null)
            {
                break;
            }
        }

        return last ?? Record(NotSent(MilterEvent.Body, "0 bytes", "the body is empty"));
    }


    private async Task SendMacrosAsync(char stage)
    {
        if (!Profile.Macros.TryGetValue(stage, out IReadOnlyList<string>? names))
        {
            names = [];
        }

        var pairs = new List<(string, string)>();
        var values = new MacroValues(SmtpClient,
            _tx is not null && _model.QueueIdKnown(stage, _tx.Accepted.Count) ? _tx.QueueId : null,
            stage is 'C' or 'H' ? null : _tx?.Sender,
            stage == 'R' ? _tx?.Current : null,
            stage == 'E' ? _tx?.Store?.MessageId : null);
        _macroOverrides.TryGetValue(stage, out Dictionary<string, string?>? overrides);
        foreach (string name in names)
        {
            string? value = overrides is not null && overrides.TryGetValue(name, out string? o) ? o : _model.MacroValue(name, values);
            if (value is not null)
            {
                pairs.Add((name, value));
            }
        }

        if (overrides is not null)
        {
            pairs.AddRange(overrides.Where(o => o.Value is not null && !names.Contains(o.Key)).Select(o => (o.Key, o.Value!)));
        }

        if (names.Count == 0 && pairs.Count == 0 && !Profile.Macros.ContainsKey(stage))
        {
            return;
        }

        await Client.MacroAsync(stage, [.. pairs]).ConfigureAwait(false);
    }
}
