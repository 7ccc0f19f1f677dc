using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Generators;

public sealed partial class MilterGenerator
{
    internal static partial class Parser
    {
        private static CallbackModel? ParseCallback(IMethodSymbol method, MilterEvent kind, KnownTypes known, List<MacroRead> reads, List<DiagnosticInfo> diagnostics)
        {
            LocationInfo? location = LocationInfo.From(method);
            bool ok = true;

            string? problem = FindMethodProblem(method);
            if (problem is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InaccessibleCallback, location, method.Name, problem));
                ok = false;
            }

            // Return type: Verdict or ValueTask<Verdict> decide, void or ValueTask observe; Abort and Close only observe.
            bool observes = false;
            bool isAsync = false;
            bool synchronous = false;
            bool observeOnly = kind is MilterEvent.Abort or MilterEvent.Close;
            bool byRef = method.ReturnsByRef || method.ReturnsByRefReadonly;
            if (method.ReturnType.TypeKind == TypeKind.Error)
            {
                ok = false;
            }
            else if (!byRef && method.ReturnsVoid && !method.IsAsync)
            {
                observes = true;
                synchronous = true;
            }
            else if (!byRef && known.IsValueTask(method.ReturnType))
            {
                observes = true;
                isAsync = true;
            }
            else if (!byRef && !observeOnly && SymbolEqualityComparer.Default.Equals(method.ReturnType, known.Verdict))
            {
                synchronous = true;
            }
            else if (!byRef && !observeOnly && known.IsValueTaskOfVerdict(method.ReturnType))
            {
                isAsync = true;
            }
            else
            {
                string returned = (method.ReturnsByRef ? "ref " : method.ReturnsByRefReadonly ? "ref readonly " : method.IsAsync ? "async " : "")
                    + method.ReturnType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.UnsupportedReturnType,
                    location,
                    FilterSymbols.AttributeDisplay(kind),
                    method.Name,
                    returned,
                    observeOnly ? "void or ValueTask" : "Verdict, void, ValueTask<Verdict> or ValueTask"));
                ok = false;
            }

            if (isAsync && method.IsAsync && !known.HasPoolingBuilder(method))
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.AsyncWithoutPooling,
                    location,
                    method.Name,
                    observes ? "PoolingAsyncValueTaskMethodBuilder" : "PoolingAsyncValueTaskMethodBuilder<>"));
            }

            // Parameters, bound by type, or by [Macro] to a macro's value.
            var parameters = new ParameterModel[method.Parameters.Length];
            var seen = new Dictionary<ParameterKind, IParameterSymbol>();
            var macros = new Dictionary<string, IParameterSymbol>(StringComparer.Ordinal);
            for (int i = 0; i < method.Parameters.Length; i++)
            {
                IParameterSymbol parameter = method.Parameters[i];
                if (parameter.Type.TypeKind == TypeKind.Error)
                {
                    ok = false;
                    continue;
                }

                if (known.MacroAttributeOf(parameter) is { } macro)
                {
                    ParameterModel? bound = ParseMacroParameter(method, kind, isAsync, parameter, macro, known, macros, reads, diagnostics);
                    if (bound is null)
                    {
                        ok = false;
                        continue;
                    }

                    parameters[i] = bound;
                    continue;
                }

                ParameterKind? parameterKind = parameter.RefKind == RefKind.None ? known.Classify(parameter.Type) : null;
                if (parameterKind is not { } found || !IsAllowed(kind, found))
                {
                    diagnostics.Add(Unbindable(DiagnosticDescriptors.UnsupportedParameter, parameter, location, kind, method, AllowedTypes(kind, isAsync)));
                    ok = false;
                    continue;
                }

                if (isAsync && IsRefLike(found))
                {
                    diagnostics.Add(Unbindable(
                        DiagnosticDescriptors.SpanInAsyncCallback,
                        parameter,
                        location,
                        kind,
                        method,
                        IsAllowed(kind, ParameterKind.Text)
                            ? "take 'string' instead (" + TextDescription(kind) + "), or copy the data in a synchronous callback"
                            : "copy the data you need in a synchronous callback"));
                    ok = false;
                    continue;
                }

                if (seen.TryGetValue(found, out IParameterSymbol? earlier))
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.DuplicateParameterType,
                        LocationInfo.From(parameter) ?? location,
                        FilterSymbols.AttributeDisplay(kind),
                        method.Name,
                        TypeDisplay(found),
                        earlier.Name,
                        parameter.Name));
                    ok = false;
                    continue;
                }

                if (found == ParameterKind.CancellationToken && synchronous)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.TokenInSynchronousCallback,
                        LocationInfo.From(parameter) ?? location,
                        FilterSymbols.AttributeDisplay(kind),
                        method.Name,
                        observes ? "void" : "Verdict",
                        parameter.Name));
                }

                seen.Add(found, parameter);
                parameters[i] = new ParameterModel(found);
            }

            return ok ? new CallbackModel(kind, EscapeIdentifier(method.Name), new EquatableArray<ParameterModel>(parameters), observes, isAsync) : null;
        }

        /// <summary>A [Macro] parameter: its name, its stage and its type; null (with diagnostics) when it cannot be bound.</summary>
        private static ParameterModel? ParseMacroParameter(
            IMethodSymbol method,
            MilterEvent kind,
            bool isAsync,
            IParameterSymbol parameter,
            AttributeData macro,
            KnownTypes known,
            Dictionary<string, IParameterSymbol> macros,
            List<MacroRead> reads,
            List<DiagnosticInfo> diagnostics)
        {
            LocationInfo? location = LocationInfo.From(parameter) ?? LocationInfo.From(method);

            // [Macro] without its argument already fails to compile.
            if (macro.AttributeConstructor is null || macro.ConstructorArguments.Length != 1)
            {
                return null;
            }

            bool ok = true;
            string? given = macro.ConstructorArguments[0].Value as string;
            string? name = MacroTable.Normalize(given);
            if (name is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidMacroName, location, given ?? "", parameter.Name, method.Name));
                ok = false;
            }

            MacroStage? stage = MacroTable.StageOf(kind);
            if (stage is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.MacroWithoutStage,
                    location,
                    FilterSymbols.AttributeDisplay(kind),
                    method.Name,
                    name ?? given ?? "",
                    kind switch
                    {
                        MilterEvent.Unknown => "unknown commands",
                        MilterEvent.Abort => "an abort",
                        _ => "the end of a connection",
                    }));
                ok = false;
            }

            ParameterKind? bound = null;
            if (parameter.RefKind == RefKind.None && known.IsBytes(parameter.Type))
            {
                if (isAsync)
                {
                    diagnostics.Add(Unbindable(DiagnosticDescriptors.SpanInAsyncCallback, parameter, location, kind, method, "take the macro as 'string?' instead"));
                    ok = false;
                }
                else
                {
                    bound = ParameterKind.MacroBytes;
                }
            }
            else if (parameter.RefKind == RefKind.None && parameter.Type.SpecialType == SpecialType.System_String)
            {
                bound = parameter.NullableAnnotation == NullableAnnotation.NotAnnotated ? ParameterKind.MacroTextOrEmpty : ParameterKind.MacroText;
            }
            else
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.UnsupportedMacroParameter,
                    location,
                    parameter.Name,
                    FilterSymbols.AttributeDisplay(kind),
                    method.Name,
                    ParameterTypeDisplay(parameter),
                    isAsync ? "'string?' (null when absent) in an async callback" : "'ReadOnlySpan<byte>' (empty when absent) or 'string?' (null when absent)"));
                ok = false;
            }

            if (name is not null)
            {
                if (macros.TryGetValue(name, out IParameterSymbol? earlier))
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.DuplicateMacro,
                        location,
                        FilterSymbols.AttributeDisplay(kind),
                        method.Name,
                        name,
                        earlier.Name,
                        parameter.Name));
                    ok = false;
                }
                else
                {
                    macros.Add(name, parameter);
                }

                if (stage is not null && MacroTable.TryGetEarliest(name, out MilterEvent earliest, out string senders) && kind < earliest)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.MacroNotYetDefined,
                        location,
                        FilterSymbols.AttributeDisplay(kind),
                        method.Name,
                        name,
                        EventDisplay(earliest),
                        "it is first in " + senders + " default " + EventDisplay(earliest) + " macros"));
                }
            }

            if (!ok || bound is not { } k)
            {
                return null;
            }

            reads.Add(new MacroRead(kind, method.Name, name!, location));
            return new ParameterModel(k, name);
        }

        /// <summary>
        /// Warns (AOTM028) about each macro read that one MTA's default lists, as the filter's own requests change them,
        /// deliver by the callback's stage and the other's do not. Runs once the class's requests at every stage are known.
        /// </summary>
        private static void CheckMacrosOnBothMtas(List<MacroRead> reads, List<DiagnosticInfo> diagnostics)
        {
            var requested = new Dictionary<MacroStage, HashSet<string>>();
            foreach (MacroRead read in reads)
            {
                MacroStage stage = MacroTable.StageOf(read.Kind)!.Value;
                if (!requested.TryGetValue(stage, out HashSet<string>? names))
                {
                    requested.Add(stage, names = new HashSet<string>(StringComparer.Ordinal));
                }

                names.Add(read.Name);
            }

            foreach (MacroRead read in reads)
            {
                if (!MacroTable.TryGetOneSided(read.Name, read.Kind, requested, out string missing, out string present, out MacroGap gap))
                {
                    continue;
                }

                string reason;
                string fix;
                if (read.Kind < gap.First)
                {
                    bool queueId = missing == "Postfix" && read.Name == MacroTable.PostfixLateQueueId;
                    reason = queueId
                        ? "Postfix has no queue id until it has accepted a recipient, so 'i' is empty at MAIL FROM and at the first RCPT TO"
                        : missing + " defines it only from " + EventDisplay(gap.First) + " on";
                    fix = "read it from " + FilterSymbols.AttributeDisplay(gap.First) + " on"
                        + (queueId ? ", or set smtpd_delay_open_until_valid_rcpt = no in Postfix's main.cf" : "");
                }
                else
                {
                    bool late = missing == "Sendmail" && read.Kind is MilterEvent.Header or MilterEvent.Body;
                    bool header = read.Kind == MilterEvent.Header;
                    MilterEvent ownStage = header ? MilterEvent.EndOfHeaders : MilterEvent.EndOfMessage;
                    reason = (late
                            ? "Sendmail sends the " + (header ? "end-of-headers macros only after the last header" : "end-of-message macros only after the last body chunk")
                            : missing + " has sent no stage with it by then")
                        + (gap.Replaced is { } replaced
                            ? ", and this filter's " + FilterSymbols.AttributeDisplay(replaced) + " macros replace " + missing + "'s default " + EventDisplay(replaced) + " list, which has it"
                            : "");
                    fix = (late ? "read it in " + FilterSymbols.AttributeDisplay(ownStage) : "read it later")
                        + (gap.Replaced is { } again ? ", or bind it in " + FilterSymbols.AttributeDisplay(again) + " too" : "");
                }

                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.MacroOnOneMta,
                    read.Location,
                    FilterSymbols.AttributeDisplay(read.Kind),
                    read.Method,
                    read.Name,
                    present,
                    missing,
                    reason,
                    fix));
            }
        }

        /// <summary>A [Macro] parameter with a valid name in a callback that has a macro stage.</summary>
        private readonly record struct MacroRead(MilterEvent Kind, string Method, string Name, LocationInfo? Location);

        /// <summary>
        /// A parameter the callback cannot take (AOTM005, AOTM012): both messages quote the parameter, its type, the
        /// callback and its method, then say what would work. Reported at the parameter, else at the method.
        /// </summary>
        private static DiagnosticInfo Unbindable(
            DiagnosticDescriptor descriptor,
            IParameterSymbol parameter,
            LocationInfo? methodLocation,
            MilterEvent kind,
            IMethodSymbol method,
            string remedy)
            => DiagnosticInfo.Create(
                descriptor,
                LocationInfo.From(parameter) ?? methodLocation,
                parameter.Name,
                ParameterTypeDisplay(parameter),
                FilterSymbols.AttributeDisplay(kind),
                method.Name,
                remedy);

        /// <summary>MilterContext and CancellationToken are bound in every callback; the rest by <see cref="AllowedBeyondContext"/>.</summary>
        private static bool IsAllowed(MilterEvent callback, ParameterKind parameter)
            => parameter is ParameterKind.Context or ParameterKind.CancellationToken || Array.IndexOf(AllowedBeyondContext(callback), parameter) >= 0;

        private static ParameterKind[] AllowedBeyondContext(MilterEvent callback) => callback switch
        {
            MilterEvent.Connect => [ParameterKind.ConnectInfo],
            MilterEvent.Helo or MilterEvent.Unknown => [ParameterKind.Bytes, ParameterKind.Text],
            MilterEvent.Body => [ParameterKind.Bytes],
            MilterEvent.MailFrom or MilterEvent.RcptTo => [ParameterKind.EnvelopeAddress, ParameterKind.Text],
            MilterEvent.Header => [ParameterKind.HeaderField],
            MilterEvent.EndOfMessage => [ParameterKind.MessageEditor],
            _ => [],
        };

        /// <summary>The kinds that are ref structs, which an async callback cannot take.</summary>
        private static bool IsRefLike(ParameterKind parameter)
            => parameter is ParameterKind.Bytes or ParameterKind.ConnectInfo or ParameterKind.EnvelopeAddress or ParameterKind.HeaderField;

        private static string AllowedTypes(MilterEvent callback, bool isAsync)
        {
            var text = new StringBuilder(TypeDisplay(ParameterKind.Context)).Append(", ").Append(TypeDisplay(ParameterKind.CancellationToken));
            foreach (ParameterKind parameter in AllowedBeyondContext(callback))
            {
                if (!(isAsync && IsRefLike(parameter)))
                {
                    text.Append(", ").Append(TypeDisplay(parameter));
                }
            }

            return text.ToString();
        }

        private static string TypeDisplay(ParameterKind parameter) => parameter switch
        {
            ParameterKind.Context => "MilterContext",
            ParameterKind.ConnectInfo => "ConnectInfo",
            ParameterKind.Bytes => "ReadOnlySpan<byte>",
            ParameterKind.EnvelopeAddress => "EnvelopeAddress",
            ParameterKind.HeaderField => "HeaderField",
            ParameterKind.MessageEditor => "MessageEditor",
            ParameterKind.Text => "string",
            ParameterKind.CancellationToken => "CancellationToken",
            _ => parameter.ToString(),
        };

        /// <summary>What a string parameter of the callback receives.</summary>
        private static string TextDescription(MilterEvent callback) => callback switch
        {
            MilterEvent.Helo => "the HELO name",
            MilterEvent.Unknown => "the command line",
            _ => "the address without angle brackets",
        };

        private static string ParameterTypeDisplay(IParameterSymbol parameter)
            => (parameter.RefKind switch
            {
                RefKind.Ref => "ref ",
                RefKind.Out => "out ",
                RefKind.In => "in ",
                RefKind.RefReadOnlyParameter => "ref readonly ",
                _ => "",
            }) + parameter.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);

        private static string EventDisplay(MilterEvent kind) => kind switch
        {
            MilterEvent.Connect => "connect",
            MilterEvent.Helo => "HELO",
            MilterEvent.MailFrom => "MAIL FROM",
            MilterEvent.RcptTo => "RCPT TO",
            MilterEvent.Data => "DATA",
            MilterEvent.Header => "the headers",
            MilterEvent.EndOfHeaders => "end of headers",
            MilterEvent.Body => "the body",
            MilterEvent.EndOfMessage => "end of message",
            _ => kind.ToString(),
        };
    }
}
