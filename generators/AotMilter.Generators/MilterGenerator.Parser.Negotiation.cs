using AotMilter.Protocol;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AotMilter.Generators;

public sealed partial class MilterGenerator
{
    internal static partial class Parser
    {
        /// <summary>A skip bit for each event not handled, a no-reply bit for each handled one that returns void or ValueTask.</summary>
        private static uint DeriveProtocol(CallbackModel?[] callbacks, bool bodySkips)
        {
            uint bits = 0;
            bits |= Event(MilterEvent.Connect, (uint)ProtocolFlags.NoConnect, (uint)ProtocolFlags.NoReplyConnect);
            bits |= Event(MilterEvent.Helo, (uint)ProtocolFlags.NoHelo, (uint)ProtocolFlags.NoReplyHelo);
            bits |= Event(MilterEvent.MailFrom, (uint)ProtocolFlags.NoMail, (uint)ProtocolFlags.NoReplyMail);
            bits |= Event(MilterEvent.RcptTo, (uint)ProtocolFlags.NoRcpt, (uint)ProtocolFlags.NoReplyRcpt);
            bits |= Event(MilterEvent.Data, (uint)ProtocolFlags.NoData, (uint)ProtocolFlags.NoReplyData);
            bits |= Event(MilterEvent.Header, (uint)ProtocolFlags.NoHeaders, (uint)ProtocolFlags.NoReplyHeader);
            bits |= Event(MilterEvent.EndOfHeaders, (uint)ProtocolFlags.NoEndOfHeaders, (uint)ProtocolFlags.NoReplyEndOfHeaders);
            bits |= Event(MilterEvent.Body, (uint)ProtocolFlags.NoBody, (uint)ProtocolFlags.NoReplyBody);
            bits |= Event(MilterEvent.Unknown, (uint)ProtocolFlags.NoUnknown, (uint)ProtocolFlags.NoReplyUnknown);
            if (bodySkips)
            {
                bits |= (uint)ProtocolFlags.Skip;
            }

            return bits;

            uint Event(MilterEvent kind, uint skip, uint noReply)
                => callbacks[(int)kind] is not { } callback ? skip : callback.Observes ? noReply : 0;
        }

        /// <summary>Per stage, the macros the callbacks read through [Macro] parameters, sorted by stage and name.</summary>
        private static EquatableArray<MacroRequestModel> CollectMacros(CallbackModel?[] callbacks)
        {
            var stages = new SortedDictionary<MacroStage, SortedSet<string>>();
            foreach (CallbackModel? callback in callbacks)
            {
                if (callback is null || MacroTable.StageOf(callback.Kind) is not { } stage)
                {
                    continue;
                }

                foreach (ParameterModel parameter in callback.Parameters)
                {
                    if (parameter.MacroName is { } name)
                    {
                        if (!stages.TryGetValue(stage, out SortedSet<string>? names))
                        {
                            names = new SortedSet<string>(StringComparer.Ordinal);
                            stages.Add(stage, names);
                        }

                        names.Add(name);
                    }
                }
            }

            return stages.Select(static s => new MacroRequestModel(s.Key, s.Value.ToEquatableArray())).ToEquatableArray();
        }

        /// <summary>
        /// Collects the MessageEditor methods the class calls (its derived actions) and reports every place where the
        /// editor is handed to code outside the class, whose calls cannot be seen here.
        /// </summary>
        private static uint ScanEditorUse(
            INamedTypeSymbol type,
            string typeName,
            KnownTypes known,
            SemanticModel targetModel,
            List<DiagnosticInfo> diagnostics,
            CancellationToken cancellationToken)
        {
            if (known.MessageEditor is null)
            {
                return 0;
            }

            uint actions = 0;
            foreach (SyntaxReference reference in type.DeclaringSyntaxReferences)
            {
                SyntaxNode declaration = reference.GetSyntax(cancellationToken);
                SemanticModel model = ModelFor(declaration, targetModel);

                foreach (SyntaxNode node in declaration.DescendantNodes())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    switch (node)
                    {
                        case MemberAccessExpressionSyntax { Name: var name }:
                            actions |= InspectMember(node, name.Identifier.ValueText);
                            break;
                        case MemberBindingExpressionSyntax { Name: var name }:
                            actions |= InspectMember(node, name.Identifier.ValueText);
                            break;
                        case ArgumentSyntax argument:
                            InspectArgument(argument);
                            break;
                    }
                }

                uint InspectMember(SyntaxNode node, string memberName)
                {
                    if (model.GetSymbolInfo(node, cancellationToken).Symbol is not IMethodSymbol method)
                    {
                        return 0;
                    }

                    if (SymbolEqualityComparer.Default.Equals(method.ContainingType, known.MessageEditor))
                    {
                        return ActionOf(memberName, method.Parameters.Length);
                    }

                    // editor.Extension(): the editor is the receiver of a method defined elsewhere.
                    if (method.MethodKind == MethodKind.ReducedExtension
                        && SymbolEqualityComparer.Default.Equals(method.ReceiverType, known.MessageEditor))
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EditorEscapes, LocationInfo.From(node), typeName, FilterSymbols.MethodDisplay(method)));
                    }

                    return 0;
                }

                void InspectArgument(ArgumentSyntax argument)
                {
                    // Arguments of calls and object creations (not tuple elements or indexers).
                    if (argument.Parent is not ArgumentListSyntax
                        || !SymbolEqualityComparer.Default.Equals(model.GetTypeInfo(argument.Expression, cancellationToken).Type, known.MessageEditor))
                    {
                        return;
                    }

                    SyntaxNode? call = argument.Parent.Parent;
                    if (call is null || model.GetSymbolInfo(call, cancellationToken).Symbol is not IMethodSymbol target)
                    {
                        return; // nameof(editor), or code that does not compile
                    }

                    if (FilterSymbols.IsWithin(target.ContainingType, type) || SymbolEqualityComparer.Default.Equals(target.ContainingType, known.MessageEditor))
                    {
                        return;
                    }

                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EditorEscapes, LocationInfo.From(argument), typeName, FilterSymbols.MethodDisplay(target)));
                }
            }

            return actions;
        }

        private static uint ActionOf(string method, int parameterCount) => method switch
        {
            "AddHeader" or "InsertHeader" => (uint)ActionFlags.AddHeaders,
            "ChangeHeader" or "DeleteHeader" => (uint)ActionFlags.ChangeHeaders,
            "AddRecipient" => parameterCount == 1 ? (uint)ActionFlags.AddRecipient : (uint)ActionFlags.AddRecipientWithArgs,
            "DeleteRecipient" => (uint)ActionFlags.DeleteRecipient,
            "ReplaceBody" => (uint)ActionFlags.ChangeBody,
            "ChangeSender" => (uint)ActionFlags.ChangeSender,
            "Quarantine" => (uint)ActionFlags.Quarantine,
            _ => 0,
        };

        /// <summary>
        /// True when the body callback's own code, or that of a method of the filter class returning a verdict that it
        /// calls (at any depth), names <c>Verdict.Skip</c>: then SMFIP_SKIP is negotiated. Other classes are not followed.
        /// </summary>
        private static bool ReachesSkip(IMethodSymbol method, KnownTypes known, SemanticModel targetModel, HashSet<IMethodSymbol> visited, CancellationToken cancellationToken)
        {
            if (!visited.Add(method))
            {
                return false;
            }

            foreach (SyntaxReference reference in method.DeclaringSyntaxReferences)
            {
                SyntaxNode declaration = reference.GetSyntax(cancellationToken);
                SemanticModel model = ModelFor(declaration, targetModel);
                foreach (SyntaxNode node in declaration.DescendantNodes())
                {
                    bool found = node switch
                    {
                        IdentifierNameSyntax { Identifier.ValueText: "Skip" }
                            => model.GetSymbolInfo(node, cancellationToken).Symbol is IPropertySymbol property
                                && SymbolEqualityComparer.Default.Equals(property.ContainingType, known.Verdict),
                        InvocationExpressionSyntax
                            => model.GetSymbolInfo(node, cancellationToken).Symbol is IMethodSymbol { MethodKind: MethodKind.Ordinary } callee
                                && SymbolEqualityComparer.Default.Equals(callee.ContainingType?.OriginalDefinition, method.ContainingType)
                                && known.Decides(callee)
                                && ReachesSkip(callee.OriginalDefinition, known, targetModel, visited, cancellationToken),
                        _ => false,
                    };
                    if (found)
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        private static SemanticModel ModelFor(SyntaxNode node, SemanticModel targetModel)
            => node.SyntaxTree == targetModel.SyntaxTree ? targetModel : targetModel.Compilation.GetSemanticModel(node.SyntaxTree);
    }
}
