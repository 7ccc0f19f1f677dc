using System.Text;

namespace AotMilter.Protocol.Tests;

/// <summary>The two MTAs' header-edit rules on a plain list, with the examples of the reference notes.</summary>
public class HeaderEditsTests
{
    /// <summary>A list of "Name: value" strings; '*' before the name marks the MTA's Received:, '+' a generated field, '~' a deleted one.</summary>
    private sealed class TextList(params string[] entries) : IHeaderEditList
    {
        private readonly List<string> _entries = [.. entries];

        public int Count => _entries.Count;

        public ReadOnlySpan<byte> NameAt(int position) => Encoding.ASCII.GetBytes(_entries[position].TrimStart('*', '+', '~').Split(':')[0]);

        public HeaderOrigin OriginAt(int position) => _entries[position][0] switch
        {
            '*' => HeaderOrigin.Trace,
            '+' => HeaderOrigin.Generated,
            _ => HeaderOrigin.Client,
        };

        public void Insert(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => _entries.Insert(position, Text(name, value));

        public void Replace(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => _entries[position] = Text(name, value);

        public void Remove(int position)
        {
            if (_entries[position][0] == '~')
            {
                return;
            }

            // Postfix drops the entry; the Sendmail lists of these tests keep it, marked, so later indexes stay.
            if (Style == HeaderEditStyle.Sendmail)
            {
                _entries[position] = "~" + _entries[position].TrimStart('+');
            }
            else
            {
                _entries.RemoveAt(position);
            }
        }

        public HeaderEditStyle Style { get; init; }

        public override string ToString() => string.Join(" | ", _entries);

        private static string Text(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => $"{Encoding.ASCII.GetString(name)}:{Encoding.ASCII.GetString(value)}";
    }

    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    [Fact]
    public void PostfixAppendsAnAddedField()
    {
        var list = new TextList("*Received:x", "To:a", "Subject:s");

        HeaderEdits.Add(list, HeaderEditStyle.Postfix, B("To"), B("b"));

        Assert.Equal("*Received:x | To:a | Subject:s | To:b", list.ToString());
    }

    [Fact]
    public void SendmailAddsBeforeTheFirstFieldOfThatName()
    {
        var list = new TextList("+Date:d", "To:a", "Subject:s") { Style = HeaderEditStyle.Sendmail };

        HeaderEdits.Add(list, HeaderEditStyle.Sendmail, B("Subject"), B("t"));
        HeaderEdits.Add(list, HeaderEditStyle.Sendmail, B("X-New"), B("n"));

        Assert.Equal("+Date:d | To:a | Subject:t | Subject:s | X-New:n", list.ToString());
    }

    [Fact]
    public void SendmailAddTakesTheGeneratedFieldsPlace()
    {
        var list = new TextList("+Date:d", "To:a") { Style = HeaderEditStyle.Sendmail };

        HeaderEdits.Add(list, HeaderEditStyle.Sendmail, B("Date"), B("mine"));

        Assert.Equal("Date:mine | To:a", list.ToString());
    }

    [Theory]
    [InlineData(HeaderEditStyle.Postfix, 0u, "N:n | *Received:x | To:a")]
    [InlineData(HeaderEditStyle.Postfix, 1u, "*Received:x | N:n | To:a")]
    [InlineData(HeaderEditStyle.Sendmail, 0u, "*Received:x | N:n | To:a")]
    [InlineData(HeaderEditStyle.Sendmail, 1u, "*Received:x | To:a | N:n")]
    [InlineData(HeaderEditStyle.Postfix, 99u, "*Received:x | To:a | N:n")]
    [InlineData(HeaderEditStyle.Sendmail, 99u, "*Received:x | To:a | N:n")]
    public void InsertCountsTheWholeListBeforeOrAfterTheIndex(HeaderEditStyle style, uint index, string expected)
    {
        var list = new TextList("*Received:x", "To:a") { Style = style };

        HeaderEdits.Insert(list, style, index, B("N"), B("n"));

        Assert.Equal(expected, list.ToString());
    }

    [Theory]
    [InlineData(HeaderEditStyle.Postfix)]
    [InlineData(HeaderEditStyle.Sendmail)]
    public void ChangeCountsFieldsOfThatNameOnlyAndTakesZeroAsOne(HeaderEditStyle style)
    {
        var list = new TextList("*Received:x", "To:a", "To:b") { Style = style };

        HeaderEdits.Change(list, style, 2, B("TO"), B("B2"));
        HeaderEdits.Change(list, style, 0, B("to"), B("A2"));

        Assert.Equal("*Received:x | to:A2 | TO:B2", list.ToString());
    }

    [Fact]
    public void PostfixDeletionShiftsLaterFieldsOfThatName()
    {
        var list = new TextList("To:a", "To:b", "To:c");

        HeaderEdits.Change(list, HeaderEditStyle.Postfix, 1, B("To"), default);
        HeaderEdits.Change(list, HeaderEditStyle.Postfix, 1, B("To"), default);

        Assert.Equal("To:c", list.ToString());
    }

    [Fact]
    public void SendmailDeletionKeepsTheIndexesOfLaterFields()
    {
        var list = new TextList("To:a", "To:b", "To:c") { Style = HeaderEditStyle.Sendmail };

        HeaderEdits.Change(list, HeaderEditStyle.Sendmail, 1, B("To"), default);
        HeaderEdits.Change(list, HeaderEditStyle.Sendmail, 2, B("To"), default);

        Assert.Equal("~To:a | ~To:b | To:c", list.ToString());
    }

    [Fact]
    public void SendmailChangeFallsBackToAGeneratedField()
    {
        var list = new TextList("+Message-Id:<gen>", "To:a") { Style = HeaderEditStyle.Sendmail };

        HeaderEdits.Change(list, HeaderEditStyle.Sendmail, 1, B("Message-Id"), B("<mine>"));

        Assert.Equal("Message-Id:<mine> | To:a", list.ToString());
    }

    [Theory]
    [InlineData(HeaderEditStyle.Postfix, "*Received:x | To:a | X-New:n")]
    [InlineData(HeaderEditStyle.Sendmail, "*Received:x | To:a | X-New:n")]
    public void ChangingAMissingFieldAddsItAndDeletingOneDoesNothing(HeaderEditStyle style, string expected)
    {
        var list = new TextList("*Received:x", "To:a") { Style = style };

        HeaderEdits.Change(list, style, 1, B("X-New"), B("n"));
        HeaderEdits.Change(list, style, 3, B("To"), default);
        HeaderEdits.Change(list, style, 1, B("Received"), default);

        Assert.Equal(expected, list.ToString());
    }

    [Fact]
    public void ApplyTakesHeaderModificationsAndRefusesTheRest()
    {
        var list = new TextList("To:a");

        Assert.True(HeaderEdits.Apply(list, HeaderEditStyle.Postfix, MilterModification.ChangeHeader(1, "To"u8, "b"u8)));
        Assert.True(HeaderEdits.Apply(list, HeaderEditStyle.Postfix, MilterModification.InsertHeader(0, "X"u8, "x"u8)));
        Assert.True(HeaderEdits.Apply(list, HeaderEditStyle.Postfix, MilterModification.AddHeader("Y"u8, "y"u8)));
        Assert.False(HeaderEdits.Apply(list, HeaderEditStyle.Postfix, MilterModification.AddRecipient("<r>"u8)));

        Assert.Equal("X:x | To:b | Y:y", list.ToString());
    }
}
