using System.Collections.Generic;
using System.Globalization;

namespace AotMilter;

/// <summary>
/// libmilter's rules for a custom reply (<c>smfi_setreply</c>): a 4xx/5xx code, an enhanced code
/// <c>[245].d{1,3}.d{1,3}</c> of the same class, no CR/LF, at most 32 lines and 980 characters. <see cref="SmtpReply"/>
/// applies them when a reply is created; the generator compiles this file in and applies them at compile time to replies
/// written with constants, so the parts it cannot see may be unknown (null).
/// </summary>
internal static class SmtpReplyRules
{
    public const int MaxTextLength = 980;

    public const int MaxLines = 32;

    /// <summary>
    /// Why the reply is invalid, or null. A null <paramref name="code"/>, <paramref name="lines"/> or line means
    /// "not known": the rules that need it are skipped. <paramref name="extendedCodeKnown"/> is false when the
    /// extended code is not known (a known null extended code is fine).
    /// </summary>
    public static string? Validate(int? code, bool extendedCodeKnown, string? extendedCode, IReadOnlyList<string?>? lines)
    {
        if (code is < 400 or > 599)
        {
            return $"SMTP reply code {code} is not 4xx or 5xx";
        }

        if (extendedCodeKnown && extendedCode is not null)
        {
            if (!LooksLikeExtendedCode(extendedCode))
            {
                return $"extended status code '{extendedCode}' is not of the form C.SSS.DDD (C = 4 or 5)";
            }

            if (code is { } known && extendedCode[0] - '0' != known / 100)
            {
                return $"extended status code '{extendedCode}' does not match the class of reply code {known}";
            }
        }

        if (lines is null)
        {
            return null;
        }

        if (lines.Count == 0)
        {
            return "an SMTP reply needs at least one line of text";
        }

        if (lines.Count > MaxLines)
        {
            return $"an SMTP reply may have at most {MaxLines} lines; this one has {lines.Count}";
        }

        int total = 0;
        bool allKnown = true;
        foreach (string? line in lines)
        {
            if (line is null)
            {
                allKnown = false;
                continue;
            }

            if (line.IndexOf('\r') >= 0 || line.IndexOf('\n') >= 0)
            {
                return "SMTP reply text must not contain CR or LF; pass each line separately";
            }

            total += line.Length;
        }

        // Known lines alone over the limit are over it whatever the others hold.
        return total > MaxTextLength ? $"SMTP reply text is {total}{(allKnown ? "" : " or more")} characters; the maximum is {MaxTextLength}" : null;
    }

    /// <summary>
    /// Splits a reply written as one line, "550 5.7.1 Recipient rejected" or "451 Try later" (the extended code is
    /// recognised when the second word looks like one). Returns why it is not a reply at all, or null.
    /// </summary>
    public static string? Split(string reply, out int code, out string? extendedCode, out string text)
    {
        extendedCode = null;
        text = "";
        string[] words = reply.Split([' '], 3);
        if (words.Length < 2 || words[0].Length != 3 || !int.TryParse(words[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out code))
        {
            code = 0;
            return $"'{reply}' is not an SMTP reply: expected \"CODE [X.Y.Z] text\"";
        }

        if (words.Length == 3 && LooksLikeExtendedCode(words[1]))
        {
            extendedCode = words[1];
            text = words[2];
        }
        else
        {
            text = reply.Substring(4);
        }

        return null;
    }

    /// <summary>What SmtpReply.Parse makes of a one-line reply: the code when it has one, and why it would throw, or null.</summary>
    public static string? ValidateParse(string reply, out int? code)
    {
        code = null;
        string? error = Split(reply, out int parsed, out string? extendedCode, out string text);
        if (error is not null)
        {
            return error;
        }

        code = parsed;
        return Validate(parsed, true, extendedCode, [text]);
    }

    private static bool LooksLikeExtendedCode(string s)
    {
        string[] parts = s.Split('.');
        return parts.Length == 3
            && parts[0] is "2" or "4" or "5"
            && IsShortNumber(parts[1])
            && IsShortNumber(parts[2]);
    }

    private static bool IsShortNumber(string s)
    {
        if (s.Length is < 1 or > 3)
        {
            return false;
        }

        foreach (char c in s)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }
}
